/**
 * listen.maxConnections: the open-connection cap of a listener, and the warning when it is reached. Without a cap a
 * client that holds connections open exhausts the process's file descriptors, and then nothing works: not the apps,
 * not Crowd calls, not the health endpoint.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import type { Logger } from '../observability/logger.js';

/** Share of the open-file limit the listener may use: a proxied connection also holds one to the app. */
const SHARE_OF_FILE_LIMIT = 0.4;
const FALLBACK_MAX_CONNECTIONS = 4096;
/** At most one warning per this interval, with the count refused since the last. */
const WARN_INTERVAL_MS = 10_000;

/** The soft "Max open files" limit of this process (Linux), or undefined where it cannot be read. */
export function readOpenFileLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const soft = /^Max open files\s+(\d+)/m.exec(text)?.[1];
  return soft === undefined ? undefined : Number(soft);
}

/** The cap when listen.maxConnections is not set. */
export function defaultMaxConnections(openFileLimit: number | undefined): number {
  if (openFileLimit === undefined) return FALLBACK_MAX_CONNECTIONS;
  return Math.max(16, Math.floor(openFileLimit * SHARE_OF_FILE_LIMIT));
}

export interface ConnectionCapOptions {
  readonly max: number;
  readonly logger: Logger;
  /** Which listener, for the log line. */
  readonly listener: string;
  readonly onRefused?: () => void;
}

/** Sets the cap on `server`; a connection over it is closed at once by Node ('drop') and reported. */
export function applyConnectionCap(server: Server, options: ConnectionCapOptions): void {
  server.maxConnections = options.max;
  let refused = 0;
  let warnedAt = -Infinity;
  server.on('drop', () => {
    refused++;
    options.onRefused?.();
    const now = Date.now();
    if (now - warnedAt < WARN_INTERVAL_MS) return;
    warnedAt = now;
    options.logger.warn(
      { reason: 'connection_cap', listener: options.listener, maxConnections: options.max, refused },
      `${options.max} connections are open on the ${options.listener} listener (listen.maxConnections): new connections are closed at once (${refused} so far). If this is normal load, raise listen.maxConnections and the open-file limit; otherwise look for clients holding many connections open.`,
    );
  });
}
