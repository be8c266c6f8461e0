/**
 * `serve`: run the proxy until SIGTERM or SIGINT, reloading the configuration on SIGHUP (and on file changes with
 * `--watch` / `watchConfig`). With `workers` above 1 this process becomes the cluster primary
 * (cluster-primary.ts) and every worker runs `serve` again, as a worker.
 */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { createApp, type App, type AppOptions } from '../app.js';
import type { RuntimeConfig } from '../config/runtime-config.js';
import { createConfigReloader } from './config-reloader.js';
import { handleStopSignals, signalExitCode } from './stop-signals.js';
import { isPrimaryMessage, type WorkerMessage } from './worker-messages.js';
import type { ServeOptions } from './serve-options.js';


const EXIT_OK = 0;

export async function serve(options: ServeOptions): Promise<number> {
  if (cluster.isWorker) return serveAsWorker(options);
  const workers = options.config.workers === 0 ? availableParallelism() : options.config.workers;
  if (workers > 1) {
    const { runClusterPrimary } = await import('./cluster-primary.js');
    return runClusterPrimary({ ...options, workers });
  }
  return serveAlone(options);
}

async function start(config: RuntimeConfig, appOptions: AppOptions = {}): Promise<{ app: App; port: number }> {
  const app = await createApp(config, appOptions);
  try {
    return { app, port: (await app.listen()).port };
  } catch (error) {
    await app.close();
    throw error;
  }
}

/** One process: it handles the signals itself. */
async function serveAlone(options: ServeOptions): Promise<number> {
  const { app } = await start(options.config);
  const reloader = createConfigReloader({
    configPath: options.configPath,
    load: options.load,
    apply: (config) => app.reload(config),
    logger: app.logger,
    sources: { watchFlag: options.watch, watchConfig: options.config.watchConfig },
  });
  const signal = await new Promise<NodeJS.Signals>((stop) => {
    handleStopSignals({
      stop,
      force: (second) => {
        app.logger.warn({ signal: second }, `second ${second}: exiting now; connections still open are dropped`);
        app.logger.flush();
        process.exit(signalExitCode(second));
      },
    });
  });
  app.logger.info({ signal }, `${signal} received`);
  reloader.close();
  await app.close();
  return EXIT_OK;
}

/**
 * A cluster worker: the primary tells it when to reload and when to stop. SIGTERM (e.g. from a service manager
 * that signals every process of the service) also stops it; SIGINT and SIGHUP, which a terminal sends to every
 * process, are left to the primary.
 */
async function serveAsWorker(options: ServeOptions): Promise<number> {
  const ignore = (): void => undefined;
  process.on('SIGINT', ignore);
  process.on('SIGHUP', ignore);
  let reload: (() => void) | undefined;
  // Listening before the app starts: a stop asked for during start-up is not lost.
  const stopped = new Promise<void>((stop) => {
    process.once('SIGTERM', () => stop());
    process.on('message', (message) => {
      if (!isPrimaryMessage(message)) return;
      if (message.type === 'stop') stop();
      else reload?.();
    });
  });
  // The primary serves `admin` with every worker's metrics; the worker's pid on its log lines tells them apart.
  const { app, port } = await start(options.config, { adminListener: false, logBindings: { pid: process.pid } });
  const reloader = createConfigReloader({ configPath: options.configPath, load: options.load, apply: (config) => app.reload(config), logger: app.logger });
  reload = () => void reloader.reload('primary');
  process.send?.({ type: 'listening', port } satisfies WorkerMessage);
  await stopped;
  await app.close();
  // Ends the IPC channel, so the primary sees an intended exit and the event loop can empty.
  cluster.worker?.disconnect();
  return EXIT_OK;
}
