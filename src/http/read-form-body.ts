import type { IncomingMessage } from 'node:http';
import { BadRequestError, PayloadTooLargeError, RequestTimeoutError } from '../errors.js';

export interface FormBodyLimits {
  /** saml.acsMaxBytes: a larger body is refused (413). */
  readonly maxBodyBytes: number;
  /** saml.bodyTimeoutSeconds: a body still incomplete after this long is refused (408). */
  readonly timeoutMs: number;
}

/**
 * Reads an `application/x-www-form-urlencoded` body of the proxy's own endpoints (ACS, SLO) within `limits`.
 * Refuses at once on a larger Content-Length, and stops reading as soon as the cap or the deadline is passed; what
 * the client still sends is discarded by the lingering close (linger-close.ts), not read here.
 */
export async function readFormBody(req: IncomingMessage, limits: FormBodyLimits): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new BadRequestError(`the endpoint expects a form post (application/x-www-form-urlencoded), got "${type || 'no content type'}"`, { detail: 'form_content_type' });
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxBodyBytes) {
    throw new PayloadTooLargeError(`form body of ${declared} bytes is over saml.acsMaxBytes (${limits.maxBodyBytes})`, { detail: 'form_body_too_large' });
  }
  const body = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limits.maxBodyBytes) {
        cleanup();
        reject(new PayloadTooLargeError(`form body passed saml.acsMaxBytes (${limits.maxBodyBytes})`, { detail: 'form_body_too_large' }));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(new BadRequestError('the request body could not be read', { cause: error, detail: 'form_body_aborted' }));
    };
    const onDeadline = (): void => {
      cleanup();
      reject(
        new RequestTimeoutError(
          `the form body was not complete after ${limits.timeoutMs / 1000} s (saml.bodyTimeoutSeconds; ${size} bytes of ${Number.isFinite(declared) ? declared : 'a chunked body'} arrived): a very slow client, or one holding connections open`,
          { detail: 'form_body_timeout' },
        ),
      );
    };
    const deadline = setTimeout(onDeadline, limits.timeoutMs);
    const cleanup = (): void => {
      clearTimeout(deadline);
      req.off('data', onData).off('end', onEnd).off('error', onError);
      req.pause();
    };
    req.on('data', onData).on('end', onEnd).on('error', onError);
  });
  return new URLSearchParams(body.toString('latin1'));
}
