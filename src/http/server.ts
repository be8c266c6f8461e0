import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { RequestHandler } from './request-handler.js';

export interface ServerOptions {
  /** PEM text; when both are set the listener speaks HTTPS. */
  readonly tls: { readonly cert: string | Buffer; readonly key: string | Buffer } | undefined;
}

/**
 * The listening server. Slow clients are bounded by the header timeout; request bodies may stream
 * for as long as the upstream accepts them (large uploads), so there is no whole-request timeout.
 */
export function createServer(handler: RequestHandler, options: ServerOptions): Server {
  const serverOptions = { requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 65_000 } as const;
  const server = options.tls
    ? createHttpsServer({ ...serverOptions, cert: options.tls.cert, key: options.tls.key }, handler.onRequest)
    : createHttpServer(serverOptions, handler.onRequest);
  server.on('upgrade', handler.onUpgrade);
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  return server;
}
