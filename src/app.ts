/**
 * COMPOSITION ROOT: RuntimeConfig → a running proxy. Only `cli/` imports this file.
 * The server, the logger and the shared stores live here; everything built from the configuration lives in a
 * Runtime (runtime.ts), which `reload` replaces without dropping a connection.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { RuntimeConfig } from './config/runtime-config.js';
import type { RequestHandler } from './http/request-handler.js';
import { createServer } from './http/server.js';
import { createLogger } from './observability/logger.js';
import { buildRuntime, renderSpMetadata as renderMetadata, type Runtime } from './runtime.js';
import { createStores, hasStoreChanged } from './state/create-stores.js';

export { runCheck, type CheckItem, type CheckReport } from './check/run-check.js';

/** How long `close()` lets in-flight requests finish. */
const CLOSE_GRACE_MS = 10_000;

export interface AppOptions {
  /** Overrides config.logLevel. */
  readonly logLevel?: RuntimeConfig['logLevel'];
  /** Where JSON log lines go (default: stdout). */
  readonly logDestination?: NodeJS.WritableStream;
}

export interface App {
  /** Starts listening on config.listen; resolves with the bound address. */
  listen(): Promise<AddressInfo>;
  /** Swaps in a new configuration; requests in flight finish on the old one. */
  reload(config: RuntimeConfig): Promise<void>;
  /** Stops accepting, lets in-flight requests finish (bounded), closes Crowd/IdP clients and stores. */
  close(): Promise<void>;
}

/** SP metadata XML for the configured hosts (what `metadata` prints and `/_sso/saml/metadata` serves). */
export async function renderSpMetadata(config: RuntimeConfig): Promise<string> {
  return renderMetadata(config);
}

export async function createApp(config: RuntimeConfig, options: AppOptions = {}): Promise<App> {
  const logger = createLogger({ level: options.logLevel ?? config.logLevel, ...(options.logDestination ? { destination: options.logDestination } : {}) });
  const stores = createStores(config, { log: logger });
  let runtime: Runtime = buildRuntime(config, { logger, stores });

  // The server calls through `runtime` on every request, so a reload takes effect for the next request.
  const handler: RequestHandler = {
    onRequest: (req, res) => runtime.handler.onRequest(req, res),
    onUpgrade: (req, socket, head) => runtime.handler.onUpgrade(req, socket, head),
  };
  const tls = config.listen.tls;
  const server = createServer(handler, {
    tls: tls ? { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) } : undefined,
  });

  return {
    listen: () =>
      new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.listen.port, config.listen.host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          logger.info(
            { address: address.address, port: address.port, apps: config.apps.map((app) => ({ name: app.name, hosts: app.hosts })) },
            'crowd-sso-proxy listening',
          );
          runtime.start();
          resolve(address);
        });
      }),
    reload: async (next) => {
      const previous = runtime;
      runtime = buildRuntime(next, { logger, stores });
      runtime.start();
      logger.level = options.logLevel ?? next.logLevel;
      logger.info({ apps: next.apps.map((app) => app.name) }, 'configuration reloaded');
      if (hasStoreChanged(config.store, next.store)) logger.warn('store changed in the configuration file: it takes effect at the next restart');
      // Requests already running keep the old upstream connections until they end.
      setTimeout(() => void previous.close(), CLOSE_GRACE_MS).unref();
    },
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests still running after the grace period are cut.
        setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS).unref();
      });
      await Promise.allSettled([runtime.close(), stores.close()]);
      logger.info('crowd-sso-proxy stopped');
      logger.flush();
    },
  };
}
