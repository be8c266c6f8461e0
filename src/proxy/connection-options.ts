/**
 * The headers a `Connection` header names are meant for one hop only (RFC 9110 §7.6.1): they are removed, and so is
 * `Connection` itself. The request entry does this before anything is decided, so that the proxy decides on the very
 * headers the app will get: `Connection: authorization` must not let a request count as "has credentials" and then
 * reach the app without them.
 */
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Never removed because `Connection` names them: they frame or route the request, and `upgrade` is what a WebSocket
 * handshake's `Connection: Upgrade` names (the forwarder drops it from every request that is not an upgrade).
 */
const KEPT: ReadonlySet<string> = new Set(['host', 'content-length', 'transfer-encoding', 'upgrade']);

/** Removes `Connection` and every header it names (except the framing ones above). Allocates only names to delete. */
export function removeConnectionOptions(headers: IncomingHttpHeaders): void {
  const connection = headers.connection;
  if (connection === undefined) return;
  delete headers.connection;
  let start = 0;
  while (start < connection.length) {
    const comma = connection.indexOf(',', start);
    const end = comma === -1 ? connection.length : comma;
    const name = connection.slice(start, end).trim().toLowerCase();
    if (name !== '' && !KEPT.has(name)) delete headers[name];
    start = end + 1;
  }
}
