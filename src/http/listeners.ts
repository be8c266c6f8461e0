/**
 * The proxy's listening sockets: the main listener (HTTP, or HTTPS with `listen.tls`) and the optional plain-HTTP
 * redirect listener (`listen.httpRedirect`). Owns what outlives a configuration reload (the bound ports, the TLS
 * context, which is swapped in place) and the graceful stop.
 */
import { readFile } from 'node:fs/promises';
import { ServerResponse, type Server } from 'node:http';
import { Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { ListenConfig, TlsConfig } from '../config/runtime-config.js';
import type { RequestHandler } from './request-handler.js';
import type { Logger } from '../observability/logger.js';
import { applyConnectionCap, defaultMaxConnections, readOpenFileLimit } from './connection-cap.js';
import { createServer } from './server.js';

export interface ListenersOptions {
  readonly listen: ListenConfig;
  /** PEM text of listen.tls, read by the caller (a failure there is a start-up error). */
  readonly tls: { readonly cert: string | Buffer; readonly key: string | Buffer } | undefined;
  readonly handler: RequestHandler;
  /** Handler of the redirect listener; required with `listen.httpRedirect`. */
  readonly redirectHandler: RequestHandler | undefined;
  readonly logger: Logger;
  /** Counts connections refused by listen.maxConnections. */
  readonly onConnectionRefused?: () => void;
}

export interface BoundAddresses {
  readonly main: AddressInfo;
  readonly redirect: AddressInfo | undefined;
}

export interface StopOutcome {
  /** Connections (HTTP or WebSocket) still open when the grace period ended, and closed then. */
  readonly cutConnections: number;
}

export interface Listeners {
  readonly proto: 'http' | 'https';
  listen(): Promise<BoundAddresses>;
  /** Reads listen.tls again; new TLS connections use the new certificate and key. Throws on unreadable files. */
  reloadTls(tls: TlsConfig): Promise<void>;
  /** Open connections of the main listener, WebSockets included. */
  connectionCount(): Promise<number>;
  /**
   * Stops accepting, lets requests and WebSockets in flight finish, closes keep-alive connections as soon as they
   * are idle and tells clients to close after their current response. When `graceMs` is over, `onGraceOver` runs
   * (it must end the WebSocket tunnels) and every remaining connection is closed.
   */
  stop(graceMs: number, onGraceOver: () => Promise<unknown>): Promise<StopOutcome>;
}

/** How often connections that became idle during a stop are closed. */
const IDLE_SWEEP_MS = 200;

export function createListeners(options: ListenersOptions): Listeners {
  const { headersTimeoutMs, keepAliveTimeoutMs } = options.listen;
  const main = createServer(options.handler, { tls: options.tls, headersTimeoutMs, keepAliveTimeoutMs });
  const redirectConfig = options.listen.httpRedirect;
  const redirect =
    redirectConfig !== undefined && options.redirectHandler !== undefined
      ? createServer(options.redirectHandler, { tls: undefined, headersTimeoutMs, keepAliveTimeoutMs })
      : undefined;
  const servers = redirect === undefined ? [main] : [main, redirect];
  const maxConnections = options.listen.maxConnections ?? defaultMaxConnections(readOpenFileLimit());
  const cap = { max: maxConnections, logger: options.logger, ...(options.onConnectionRefused ? { onRefused: options.onConnectionRefused } : {}) };
  applyConnectionCap(main, { ...cap, listener: 'main' });
  if (redirect !== undefined) applyConnectionCap(redirect, { ...cap, listener: 'HTTP redirect' });
  let stopping: Promise<StopOutcome> | undefined;

  // The main listener's sockets (tracked per connection, not per request), so that a stop can tell the responses
  // already under way to close their connection too.
  const sockets = new Set<Socket>();
  main.on(options.tls === undefined ? 'connection' : 'secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  /** Responses whose headers are not sent yet will say `Connection: close`. */
  function closeAfterResponsesInFlight(): void {
    for (const socket of sockets) {
      // Node's own link from a socket to the response it is writing (not in its typings).
      const res = (socket as Socket & { _httpMessage?: unknown })._httpMessage;
      if (res instanceof ServerResponse && !res.headersSent) res.shouldKeepAlive = false;
    }
  }

  /** From now on every response asks its client to close the connection afterwards. */
  function closeAfterResponses(server: Server, handler: RequestHandler): void {
    server.off('request', handler.onRequest);
    server.on('request', (req, res) => {
      res.shouldKeepAlive = false;
      handler.onRequest(req, res);
    });
  }

  async function stop(graceMs: number, onGraceOver: () => Promise<unknown>): Promise<StopOutcome> {
    const closed = Promise.all(servers.map((server) => (server.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve())));
    closeAfterResponses(main, options.handler);
    closeAfterResponsesInFlight();
    if (redirect !== undefined && options.redirectHandler !== undefined) closeAfterResponses(redirect, options.redirectHandler);
    const sweep = setInterval(() => {
      for (const server of servers) server.closeIdleConnections();
    }, IDLE_SWEEP_MS);
    let graceTimer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'grace-over'>((resolve) => {
      graceTimer = setTimeout(() => resolve('grace-over'), graceMs);
    });
    try {
      if ((await Promise.race([closed.then(() => 'closed' as const), graceOver])) === 'closed') return { cutConnections: 0 };
      const cutConnections = await countConnections(servers);
      await onGraceOver();
      for (const server of servers) server.closeAllConnections();
      await closed;
      return { cutConnections };
    } finally {
      clearInterval(sweep);
      clearTimeout(graceTimer);
    }
  }

  return {
    proto: options.tls === undefined ? 'http' : 'https',

    async listen() {
      const { host, port } = options.listen;
      const mainAddress = await listenOn(main, host, port).catch((error: unknown) => {
        throw new Error(`cannot listen on ${host}:${port}; check listen.host and listen.port`, { cause: error });
      });
      if (redirect === undefined || redirectConfig === undefined) return { main: mainAddress, redirect: undefined };
      const redirectAddress = await listenOn(redirect, redirectConfig.host, redirectConfig.port).catch((error: unknown) => {
        throw new Error(`cannot listen on ${redirectConfig.host}:${redirectConfig.port}; check listen.httpRedirect`, { cause: error });
      });
      return { main: mainAddress, redirect: redirectAddress };
    },

    async reloadTls(tls) {
      if (!(main instanceof HttpsServer)) return;
      const [cert, key] = await Promise.all([readFile(tls.certFile), readFile(tls.keyFile)]);
      main.setSecureContext({ cert, key });
    },

    connectionCount: () => countConnections([main]),

    stop(graceMs, onGraceOver) {
      stopping ??= stop(graceMs, onGraceOver);
      return stopping;
    },
  };
}

function listenOn(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise<AddressInfo>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

async function countConnections(servers: readonly Server[]): Promise<number> {
  const counts = await Promise.all(
    servers.map((server) => new Promise<number>((resolve) => server.getConnections((error, count) => resolve(error === null ? count : 0)))),
  );
  return counts.reduce((sum, count) => sum + count, 0);
}
