/**
 * Reloading the configuration file on SIGHUP or a file change: load it the way it was loaded at start (same path,
 * environment and command-line flags), and hand a valid one to `apply`. An invalid file is refused with one log
 * line per problem, naming its key; the running configuration stays. Reloads never overlap: one requested while
 * another runs happens once, after it.
 */
import type { Logger } from '../app.js';
import { isConfigError } from '../config/load-config.js';
import type { RuntimeConfig } from '../config/runtime-config.js';
import { watchConfigFile, type ConfigWatcher } from './config-watcher.js';

export interface ConfigReloaderOptions {
  readonly configPath: string;
  readonly load: () => Promise<RuntimeConfig>;
  readonly apply: (config: RuntimeConfig) => Promise<void>;
  readonly logger: Logger;
  /**
   * Reload on SIGHUP, and on file changes while `watchFlag` (`--watch`) or the configuration's `watchConfig` is
   * true. Absent in cluster workers: their primary tells them when to reload.
   */
  readonly sources?: { readonly watchFlag: boolean; readonly watchConfig: boolean };
}

export interface ConfigReloader {
  /** `trigger` says why, for the log (`SIGHUP`, `file change`). Resolves when this reload (or the one it joined) is done. */
  reload(trigger: string): Promise<void>;
  /** Stops reloading: file changes are no longer watched, SIGHUP is ignored (rather than ending the process). */
  close(): void;
}

export function createConfigReloader(options: ConfigReloaderOptions): ConfigReloader {
  const { logger, configPath, sources } = options;
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  let watcher: ConfigWatcher | undefined;
  let closed = false;

  function watchWhen(watchConfig: boolean): void {
    const wanted = sources !== undefined && (sources.watchFlag || watchConfig);
    if (wanted && watcher === undefined) {
      watcher = watchConfigFile(configPath, () => void reload('file change'), {
        onError: (error) => logger.error({ err: error, configFile: configPath }, 'cannot watch the configuration file any more; reload with SIGHUP'),
      });
      logger.info({ configFile: configPath }, 'watching the configuration file: a change reloads it');
    } else if (!wanted && watcher !== undefined) {
      watcher.close();
      watcher = undefined;
      logger.info({ configFile: configPath }, 'no longer watching the configuration file (watchConfig is false)');
    }
  }

  function onHangup(): void {
    if (closed) logger.info('SIGHUP ignored: stopping');
    else void reload('SIGHUP');
  }

  async function reloadOnce(trigger: string): Promise<void> {
    logger.info({ trigger, configFile: configPath }, 'reloading the configuration');
    let config: RuntimeConfig;
    try {
      config = await options.load();
    } catch (error) {
      if (!isConfigError(error)) {
        logger.error({ err: error, configFile: configPath }, 'configuration not reloaded; the running configuration stays');
        return;
      }
      for (const problem of error.problems) {
        const where = problem.path === '' ? '' : `${problem.path}: `;
        logger.error(
          { code: 'ERR_CONFIG', configKey: problem.path, configFile: configPath },
          `configuration not reloaded, the running configuration stays: ${where}${problem.message}`,
        );
      }
      return;
    }
    try {
      await options.apply(config);
    } catch (error) {
      logger.error({ err: error, configFile: configPath }, 'configuration not reloaded; the running configuration stays');
      return;
    }
    watchWhen(config.watchConfig);
  }

  function reload(trigger: string): Promise<void> {
    if (running === undefined) {
      running = reloadOnce(trigger).finally(() => {
        running = undefined;
      });
      return running;
    }
    queued ??= running.then(() => {
      queued = undefined;
      return reload(trigger);
    });
    return queued;
  }

  if (sources !== undefined) {
    process.on('SIGHUP', onHangup);
    watchWhen(sources.watchConfig);
  }

  return {
    reload,
    close() {
      closed = true;
      watcher?.close();
      watcher = undefined;
    },
  };
}
