/**
 * The admin listener: `GET /metrics` (Prometheus text format), `GET /health`, `GET /ready`, on its own address
 * (`admin.host`/`admin.port`), never on the app hosts. It has no authentication, so it belongs on a loopback or
 * management address.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdminConfig } from '../config/runtime-config.js';
import type { Logger } from '../observability/logger.js';
import type { MetricsExposition } from '../observability/metrics.js';
import type { Readiness } from './request-handler.js';
import { sendJson } from './respond.js';

export interface AdminListenerDeps {
  readonly logger: Logger;
  readonly metrics: MetricsExposition;
  /** The current runtime's readiness (it changes with a reload). */
  readonly readiness: () => Promise<Readiness>;
}

export interface AdminListener {
  /** Binds `admin.host`/`admin.port`; resolves with the bound address. */
  listen(): Promise<AddressInfo>;
  /** Stops accepting and closes every connection (scrapes are short). */
  close(): Promise<void>;
}

const NO_STORE = 'no-store';

export function createAdminListener(config: AdminConfig, deps: AdminListenerDeps): AdminListener {
  const { logger } = deps;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path !== '/metrics' && path !== '/health' && path !== '/ready') {
      sendJson(res, 404, { error: 'not found', paths: ['/metrics', '/health', '/ready'] });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
      return;
    }
    switch (path) {
      case '/metrics': {
        const body = await deps.metrics.render();
        res.writeHead(200, { 'content-type': deps.metrics.contentType, 'content-length': Buffer.byteLength(body), 'cache-control': NO_STORE });
        res.end(body);
        return;
      }
      case '/health':
        sendJson(res, 200, { status: 'ok' });
        return;
      default: {
        const readiness = await deps.readiness();
        sendJson(res, readiness.ok ? 200 : 503, { status: readiness.ok ? 'ready' : 'not ready', checks: readiness.checks });
      }
    }
  }

  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 65_000 }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error({ err: error, path: req.url?.slice(0, 200) }, 'the admin listener could not answer');
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, { error: 'internal error' });
    });
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  return {
    listen: () =>
      new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          logger.info({ address: address.address, port: address.port }, 'admin listener ready: /metrics, /health, /ready');
          resolve(address);
        });
      }).catch((error: unknown) => {
        throw new Error(`cannot listen on ${config.host}:${config.port} for the admin listener; check admin.host and admin.port`, { cause: error });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) {
          resolve();
          return;
        }
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
