import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { RequestHandler } from './request-handler.js';

export interface ServerOptions {
  /** PEM text; when both are set the listener speaks HTTPS. */
  readonly tls: { readonly cert: string | Buffer; readonly key: string | Buffer } | undefined;
  /** listen.headersTimeoutSeconds, in milliseconds. */
  readonly headersTimeoutMs: number;
  /** listen.keepAliveTimeoutSeconds, in milliseconds. */
  readonly keepAliveTimeoutMs: number;
}

/** How often Node checks connections against the header timeout (its default, 30 s, would let it run late). */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

/**
 * The listening server. Slow clients are bounded by the header timeout and idle ones by the keep-alive timeout.
 * Request bodies to the apps may stream for as long as the upstream accepts them (large uploads), so there is no
 * whole-request timeout; the proxy's own endpoints bound their bodies themselves (saml.bodyTimeoutSeconds).
 */
export function createServer(handler: RequestHandler, options: ServerOptions): Server {
  const serverOptions = {
    requestTimeout: 0,
    headersTimeout: options.headersTimeoutMs,
    keepAliveTimeout: options.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(TIMEOUT_CHECK_INTERVAL_MS, options.headersTimeoutMs),
  } as const;
  const server = options.tls
    ? createHttpsServer({ ...serverOptions, cert: options.tls.cert, key: options.tls.key }, handler.onRequest)
    : createHttpServer(serverOptions, handler.onRequest);
  server.on('upgrade', handler.onUpgrade);
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  return server;
}
