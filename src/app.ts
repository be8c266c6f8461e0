/**
 * COMPOSITION ROOT: RuntimeConfig → a running proxy. Only `cli/` imports this file.
 * The server, the logger and the shared stores live here; everything built from the configuration lives in a
 * Runtime (app/build-runtime.ts, with app/build-access-control.ts), which `reload` replaces without dropping a connection.
 */
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { restartOnlyChanges } from './config/restart-only-changes.js';
import type { AdminConfig, RuntimeConfig } from './config/runtime-config.js';
import type { Readiness, RequestHandler } from './http/request-handler.js';
import { createAdminListener, type AdminListener } from './http/admin-listener.js';
import { createListeners } from './http/listeners.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createClusterMetrics, createMetrics } from './observability/metrics.js';
import { buildRuntime, renderSpMetadata as renderMetadata, type Runtime } from './app/build-runtime.js';
import { createStores } from './state/create-stores.js';

/** For the cluster primary, which logs without running an App. */
export { createLogger, type Logger } from './observability/logger.js';

export interface AppOptions {
  /** Overrides config.logLevel. */
  readonly logLevel?: RuntimeConfig['logLevel'];
  /** Where JSON log lines go (default: stdout). */
  readonly logDestination?: NodeJS.WritableStream;
  /** Fields on every log line (cluster workers: their `pid`). */
  readonly logBindings?: Readonly<Record<string, unknown>>;
  /** false in cluster workers: the primary serves `admin` with the metrics of all workers. Default true. */
  readonly adminListener?: boolean;
  /** Clock for session lifetimes, login records and the token cache (tests inject one); default Date.now. */
  readonly now?: () => number;
}

export interface App {
  /** The process's logger (the command line logs reloads and signals with it). */
  readonly logger: Logger;
  /** Starts listening on config.listen; resolves with the bound address. */
  listen(): Promise<AddressInfo>;
  /** The admin listener's address once listening; undefined without `admin`. */
  adminAddress(): AddressInfo | undefined;
  /** The HTTP redirect listener's address once listening; undefined without `listen.httpRedirect`. */
  redirectAddress(): AddressInfo | undefined;
  /**
   * Swaps in a new configuration for the next requests; requests and WebSockets in flight finish on the old one.
   * TLS certificate and key are read again. Keys only a restart applies are logged (restart-only-changes.ts).
   * Throws, keeping the running configuration, when the TLS files cannot be read.
   */
  reload(config: RuntimeConfig): Promise<void>;
  /**
   * Stops accepting, lets requests and WebSockets in flight finish within `shutdownGraceSeconds`, then closes
   * what is left, the Crowd and IdP clients and the stores. Calling it again returns the same promise.
   */
  close(): Promise<void>;
}

/** For the cluster primary: `admin` serving the summed metrics of every worker, and the primary's own readiness. */
export function createClusterAdminListener(admin: AdminConfig, deps: { readonly logger: Logger; readonly readiness: () => Promise<Readiness> }): AdminListener {
  return createAdminListener(admin, { ...deps, metrics: createClusterMetrics() });
}

/** SP metadata XML for the configured hosts (what `metadata` prints and `/_sso/saml/metadata` serves). */
export async function renderSpMetadata(config: RuntimeConfig): Promise<string> {
  return renderMetadata(config);
}

export async function createApp(config: RuntimeConfig, options: AppOptions = {}): Promise<App> {
  const rootLogger = createLogger({
    level: options.logLevel ?? config.logLevel,
    format: config.logFormat,
    ...(options.logDestination ? { destination: options.logDestination } : {}),
  });
  const logger = options.logBindings === undefined ? rootLogger : rootLogger.child(options.logBindings);
  const stores = createStores(config, { log: logger });
  // Metrics only with an admin listener to serve them; the registry outlives every reload.
  const metrics = config.admin === undefined ? undefined : createMetrics();
  const listenerProto = config.listen.tls === undefined ? 'http' : 'https';
  const clock = options.now === undefined ? {} : { now: options.now };
  let runtime: Runtime = buildRuntime(config, { logger, stores, metrics, listenerProto, ...clock });
  // A session ended anywhere (this instance or another sharing store.redis) is forgotten by the current configuration.
  stores.sessionEvents.onEnded((token) => runtime.forgetSession(token));
  /** Configurations replaced by a reload whose WebSocket tunnels may still be open. */
  const retired = new Set<Runtime>();
  const admin = config.admin === undefined || metrics === undefined || options.adminListener === false ? undefined : createAdminListener(config.admin, { logger, metrics, readiness: () => runtime.readiness() });
  let adminAddress: AddressInfo | undefined;

  // The server calls through `runtime` on every request, so a reload takes effect for the next request.
  const handler: RequestHandler = {
    onRequest: (req, res) => runtime.handler.onRequest(req, res),
    onUpgrade: (req, socket, head) => runtime.handler.onUpgrade(req, socket, head),
  };
  const redirectHandler: RequestHandler = {
    onRequest: (req, res) => runtime.httpsRedirect.onRequest(req, res),
    onUpgrade: (req, socket, head) => runtime.httpsRedirect.onUpgrade(req, socket, head),
  };
  const tls = config.listen.tls;
  const listeners = createListeners({
    listen: config.listen,
    tls: tls ? { cert: await readFile(tls.certFile), key: await readFile(tls.keyFile) } : undefined,
    handler,
    redirectHandler,
    logger,
    ...(metrics === undefined ? {} : { onConnectionRefused: () => metrics.connectionRefused() }),
  });
  let redirectAddress: AddressInfo | undefined;
  let closing: Promise<void> | undefined;

  async function close(): Promise<void> {
    const graceMs = runtime.config.shutdownGraceMs;
    logger.info(
      { openConnections: await listeners.connectionCount(), graceSeconds: graceMs / 1000 },
      'stopping: no new connections; requests and WebSockets in flight may finish within shutdownGraceSeconds',
    );
    const cutAll = (): Promise<unknown> => Promise.allSettled([runtime, ...retired].map((each) => each.close()));
    const { cutConnections } = await listeners.stop(graceMs, cutAll);
    if (cutConnections > 0) {
      logger.warn({ cutConnections }, `shutdownGraceSeconds (${graceMs / 1000} s) over: closed the connections still open`);
    }
    await Promise.allSettled([cutAll(), stores.close(), admin?.close()]);
    logger.info('crowd-sso-proxy stopped');
    logger.flush();
  }

  return {
    logger,
    listen: async () => {
      const bound = await listeners.listen();
      redirectAddress = bound.redirect;
      logger.info(
        {
          address: bound.main.address,
          port: bound.main.port,
          ...(bound.redirect === undefined ? {} : { httpRedirectPort: bound.redirect.port }),
          apps: config.apps.map((app) => ({ name: app.name, hosts: app.hosts })),
        },
        'crowd-sso-proxy listening',
      );
      runtime.start();
      adminAddress = await admin?.listen();
      return bound.main;
    },
    adminAddress: () => adminAddress,
    redirectAddress: () => redirectAddress,
    reload: async (next) => {
      // Built before anything changes: a configuration that cannot be wired leaves the running one untouched.
      const built = buildRuntime(next, { logger, stores, metrics, listenerProto: listeners.proto, ...clock });
      if (next.listen.tls !== undefined && listeners.proto === 'https') {
        try {
          await listeners.reloadTls(next.listen.tls);
        } catch (error) {
          await built.close();
          throw new Error('cannot use listen.tls.certFile and listen.tls.keyFile; the running configuration stays', { cause: error });
        }
      }
      const previous = runtime;
      runtime = built;
      runtime.start();
      logger.level = options.logLevel ?? next.logLevel;
      logger.info({ apps: next.apps.map((app) => app.name) }, 'configuration reloaded');
      for (const key of restartOnlyChanges(config, next)) {
        logger.warn({ configKey: key }, `${key} changed in the configuration file: it takes effect at the next restart`);
      }
      // Requests and WebSockets already running finish on the previous configuration.
      retired.add(previous);
      void previous.retire().finally(() => retired.delete(previous));
    },
    close: () => {
      closing ??= close();
      return closing;
    },
  };
}
