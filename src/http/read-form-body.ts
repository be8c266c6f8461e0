import type { IncomingMessage } from 'node:http';
import { BadRequestError, PayloadTooLargeError } from '../errors.js';

/**
 * Reads an `application/x-www-form-urlencoded` body of at most `maxBytes` (config.saml.acsMaxBytes).
 * Refuses at once on a larger Content-Length, and stops reading as soon as the cap is passed.
 */
export async function readFormBody(req: IncomingMessage, maxBytes: number): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new BadRequestError(`the ACS expects a form post (application/x-www-form-urlencoded), got "${type || 'no content type'}"`, { detail: 'acs_content_type' });
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new PayloadTooLargeError(`ACS body of ${declared} bytes is over saml.acsMaxBytes (${maxBytes})`, { detail: 'acs_body_too_large' });
  }
  const body = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        // Stop reading without destroying the socket, so the 413 page can still be sent (with Connection: close).
        cleanup();
        req.pause();
        reject(new PayloadTooLargeError(`ACS body passed saml.acsMaxBytes (${maxBytes})`, { detail: 'acs_body_too_large' }));
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
      reject(new BadRequestError('the ACS request body could not be read', { cause: error, detail: 'acs_body_aborted' }));
    };
    const cleanup = (): void => {
      req.off('data', onData).off('end', onEnd).off('error', onError);
    };
    req.on('data', onData).on('end', onEnd).on('error', onError);
  });
  return new URLSearchParams(body.toString('latin1'));
}
