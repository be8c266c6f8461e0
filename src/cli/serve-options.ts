import type { RuntimeConfig } from '../config/runtime-config.js';

/** How `serve` runs: what a single process and the cluster primary both need to know. */
export interface ServeOptions {
  /** The configuration loaded at start. */
  readonly config: RuntimeConfig;
  readonly configPath: string;
  /** Loads the configuration file again exactly as at start (environment, command-line overrides). */
  readonly load: () => Promise<RuntimeConfig>;
  /** `--watch`: reload on file changes whatever `watchConfig` says. */
  readonly watch: boolean;
}
