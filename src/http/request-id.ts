import { randomUUID } from 'node:crypto';

/** Characters of request ids that load balancers and tracing systems send (UUIDs, hex, base64, `Root=1-…`). */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:+=@/-]{1,128}$/;

/**
 * The request id: the `X-Request-Id` a trusted proxy sent, when it is a single short token of safe characters
 * (it is forwarded upstream, returned to the client and written to every log line); otherwise a new UUID.
 * A client that is not a trusted proxy never chooses its own id.
 */
export function requestIdFrom(header: string | string[] | undefined, fromTrustedProxy: boolean): string {
  if (fromTrustedProxy && typeof header === 'string' && SANE_REQUEST_ID.test(header)) return header;
  return randomUUID();
}
