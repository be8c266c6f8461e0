import type { RuntimeConfig } from './runtime-config.js';

/**
 * Keys whose new value a reload cannot apply, because what they configure is built once per process: the
 * listening sockets, the worker processes, the log output. Compared with the configuration the process started
 * with, so a value changed back before the next reload is no change. The returned key paths name what still
 * runs with the old value until the next restart.
 */
export function restartOnlyChanges(started: RuntimeConfig, next: RuntimeConfig): string[] {
  const changed: string[] = [];
  const compare = (key: string, before: unknown, after: unknown): void => {
    if (JSON.stringify(before) !== JSON.stringify(after)) changed.push(key);
  };
  compare('listen.host', started.listen.host, next.listen.host);
  compare('listen.port', started.listen.port, next.listen.port);
  // New certificate and key files are read on reload; only switching between HTTP and HTTPS needs a restart.
  compare('listen.tls', started.listen.tls !== undefined, next.listen.tls !== undefined);
  compare('listen.httpRedirect', started.listen.httpRedirect, next.listen.httpRedirect);
  compare('workers', started.workers, next.workers);
  compare('admin', started.admin, next.admin);
  compare('logFormat', started.logFormat, next.logFormat);
  // The replay cache and session index are shared by every runtime of the process.
  compare('store', started.store, next.store);
  return changed;
}
