import type { IncomingMessage } from 'node:http';
import { BadRequestError, PayloadTooLargeError } from '../errors.js';

/** After a 413, how long and how much more of the body is read and thrown away before the connection is cut. */
const LINGER_MS = 5_000;
const LINGER_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Reads and discards the rest of a refused body, as nginx's lingering close does: a socket closed while the client is
 * still sending answers its next bytes with a reset, and the client's TCP stack then throws away the 413 it had not yet
 * read. Bounded in time and size; then the connection is cut. A body that ends in time leaves the connection usable.
 */
function discardRest(req: IncomingMessage): void {
  let discarded = 0;
  const cut = (): void => {
    clearTimeout(timer);
    req.socket.destroy();
  };
  const timer = setTimeout(cut, LINGER_MS);
  timer.unref();
  const stop = (): void => clearTimeout(timer);
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > LINGER_MAX_BYTES) cut();
  });
  req.once('end', stop).once('close', stop);
  req.resume();
}

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
    discardRest(req);
    throw new PayloadTooLargeError(`ACS body of ${declared} bytes is over saml.acsMaxBytes (${maxBytes})`, { detail: 'acs_body_too_large' });
  }
  const body = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        discardRest(req);
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
