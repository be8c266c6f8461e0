/**
 * `workers` > 1: this process forks the workers (node:cluster), which share the listening port, and supervises
 * them. It serves no request itself.
 * - A worker that dies is started again, after 1 s, then 2, 4, … up to 30 s while it keeps dying within a minute.
 *   A worker that dies before it ever listened during start-up stops everything: the configuration or the port
 *   is the problem, not the worker.
 * - SIGHUP (or a file change with --watch / watchConfig): the file is checked here, then every worker reloads it.
 * - SIGTERM / SIGINT: every worker stops gracefully; the primary exits 0 once all have. A second signal kills the
 *   workers and exits at once.
 */
import cluster, { type Worker } from 'node:cluster';
import { createClusterAdminListener, createLogger } from '../app.js';
import { createConfigReloader } from './config-reloader.js';
import type { ServeOptions } from './serve-options.js';
import { handleStopSignals, signalExitCode } from './stop-signals.js';
import { isWorkerMessage, type PrimaryMessage } from './worker-messages.js';

export interface ClusterPrimaryOptions extends ServeOptions {
  /** Number of workers (already resolved from `workers: 0`). */
  readonly workers: number;
}

const FIRST_RESTART_DELAY_MS = 1_000;
const MAX_RESTART_DELAY_MS = 30_000;
/** A worker that ran this long before dying starts the backoff over. */
const STABLE_AFTER_MS = 60_000;
/** Beyond shutdownGraceSeconds, how long workers get to close their stores and exit before they are killed. */
const STOP_MARGIN_MS = 10_000;

const EXIT_OK = 0;
const EXIT_FAILURE = 1;

interface Slot {
  worker: Worker | undefined;
  startedAtMs: number;
  listening: boolean;
  /** Deaths in a row, each within STABLE_AFTER_MS of its start. */
  failures: number;
  restartTimer: NodeJS.Timeout | undefined;
}

export async function runClusterPrimary(options: ClusterPrimaryOptions): Promise<number> {
  let config = options.config;
  const logger = createLogger({ level: config.logLevel, format: config.logFormat }).child({ role: 'primary' });
  const slots: Slot[] = Array.from({ length: options.workers }, () => ({ worker: undefined, startedAtMs: 0, listening: false, failures: 0, restartTimer: undefined }));
  let started = false;
  let stopping = false;
  let exitCode = EXIT_OK;
  // The workers' metrics, summed; `/ready` here says whether every worker is listening.
  const admin =
    config.admin === undefined
      ? undefined
      : createClusterAdminListener(config.admin, {
          logger,
          readiness: async () => {
            const listening = slots.filter((slot) => slot.worker !== undefined && slot.listening).length;
            return { ok: listening === slots.length, checks: { workers: `${listening} of ${slots.length} listening` } };
          },
        });
  await admin?.listen();

  const send = (message: PrimaryMessage): void => {
    for (const slot of slots) if (slot.worker?.isConnected() === true) slot.worker.send(message);
  };

  return new Promise<number>((finish) => {
    const reloader = createConfigReloader({
      configPath: options.configPath,
      load: options.load,
      apply: async (next) => {
        config = next;
        send({ type: 'reload' });
      },
      logger,
      sources: { watchFlag: options.watch, watchConfig: config.watchConfig },
    });
    let killTimer: NodeJS.Timeout | undefined;
    const removeSignalHandlers = handleStopSignals({
      stop: (signal) => {
        logger.info({ signal, workers: liveWorkers().length }, `${signal} received: stopping the workers gracefully`);
        stopAll(signal);
      },
      force: (signal) => {
        logger.warn({ signal }, `second ${signal}: killing the workers and exiting now`);
        for (const worker of liveWorkers()) worker.process.kill('SIGKILL');
        logger.flush();
        process.exit(signalExitCode(signal));
      },
    });

    function liveWorkers(): Worker[] {
      return slots.flatMap((slot) => (slot.worker === undefined ? [] : [slot.worker]));
    }

    function stopAll(reason: string): void {
      stopping = true;
      reloader.close();
      for (const slot of slots) clearTimeout(slot.restartTimer);
      send({ type: 'stop' });
      killTimer = setTimeout(() => {
        const left = liveWorkers();
        logger.error({ workers: left.length }, `workers still running ${(config.shutdownGraceMs + STOP_MARGIN_MS) / 1000} s after ${reason}: killing them`);
        for (const worker of left) worker.process.kill('SIGKILL');
      }, config.shutdownGraceMs + STOP_MARGIN_MS);
      killTimer.unref();
      finishIfDone();
    }

    function finishIfDone(): void {
      if (!stopping || liveWorkers().length > 0) return;
      clearTimeout(killTimer);
      removeSignalHandlers();
      void admin?.close();
      logger.info('crowd-sso-proxy stopped');
      logger.flush();
      finish(exitCode);
    }

    function fork(slot: Slot): void {
      const worker = cluster.fork();
      slot.worker = worker;
      slot.startedAtMs = Date.now();
      slot.listening = false;
      worker.on('message', (message: unknown) => {
        if (!isWorkerMessage(message)) return;
        slot.listening = true;
        logger.info({ workerPid: worker.process.pid, port: message.port }, 'worker listening');
        if (!started && slots.every((each) => each.listening)) {
          started = true;
          logger.info({ workers: slots.length, port: message.port }, 'all workers listening');
        }
      });
      worker.on('exit', (code, signal) => onExit(slot, worker, code, signal));
    }

    function onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
      if (slot.worker === worker) slot.worker = undefined;
      if (stopping) {
        finishIfDone();
        return;
      }
      const how = signal === null ? `exit status ${String(code)}` : `signal ${signal}`;
      if (!started && !slot.listening) {
        logger.error({ workerPid: worker.process.pid, exitCode: code, signal }, `a worker ended (${how}) before it could listen; stopping (see its message above)`);
        exitCode = EXIT_FAILURE;
        stopAll('a failed start');
        return;
      }
      slot.failures = Date.now() - slot.startedAtMs >= STABLE_AFTER_MS ? 1 : slot.failures + 1;
      const delayMs = Math.min(MAX_RESTART_DELAY_MS, FIRST_RESTART_DELAY_MS * 2 ** (slot.failures - 1));
      logger.error({ workerPid: worker.process.pid, exitCode: code, signal, restartInSeconds: delayMs / 1000 }, `a worker ended unexpectedly (${how}); starting a new one`);
      slot.restartTimer = setTimeout(() => {
        slot.restartTimer = undefined;
        if (!stopping) fork(slot);
      }, delayMs);
    }

    logger.info({ workers: slots.length }, `starting ${slots.length} workers`);
    for (const slot of slots) fork(slot);
  });
}
