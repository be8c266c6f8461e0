import { isIP } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisStoreConfig } from '../config/runtime-config.js';
import { StoreUnavailableError } from '../errors.js';

/** The few log calls the connection makes (the process logger satisfies it; state/ never imports observability/). */
export interface StoreLog {
  info(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface RedisConnection {
  readonly client: Redis;
  /**
   * Runs Redis commands for `operation` (snake_case, the error's detail): any failure — Redis down, slower
   * than store.redis.commandTimeoutMs, refusing the command — becomes a StoreUnavailableError.
   */
  run<T>(operation: string, commands: (client: Redis) => Promise<T>): Promise<T>;
  /** Resolves when Redis answers a PING; throws StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  /** Quits (bounded by commandTimeoutMs), then stops reconnecting. */
  close(): Promise<void>;
}

/** Reconnect backoff: 50 ms, 100 ms, … at most 2 s, forever (a Redis outage ends when Redis is back). */
const RECONNECT_MAX_DELAY_MS = 2_000;
const DEFAULT_PORT = 6379;

/**
 * Host, port, database and ACL user from store.redis.url (validated: no password, a numeric path). Parsed here,
 * not by ioredis, whose URL fields would take precedence over the `password` option.
 */
function endpointOptions(text: string): RedisOptions {
  const url = new URL(text);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return {
    host,
    port: url.port === '' ? DEFAULT_PORT : Number(url.port),
    db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
    ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
  };
}

/** SNI name for a TLS connection: the URL's host name, none for an IP address. */
function serverName(host: string): string | undefined {
  return isIP(host) === 0 ? host : undefined;
}

/**
 * One ioredis client per process, configured so that Redis being down never hangs a request:
 * - every command is bounded by `commandTimeoutMs` (ioredis arms the timer before queueing, so queued commands too);
 * - before the first connection attempt has ended, commands wait in the offline queue (so the first logins after
 *   start-up do not fail while the connection is being made), bounded by that timeout and flushed after one failed
 *   reconnect (`maxRetriesPerRequest: 1`);
 * - once Redis is known to be away (a connection error), commands fail at once until it is ready again: during an
 *   outage no request waits for Redis, and nothing piles up;
 * - the outage is logged once when it starts, and once when Redis is back.
 */
export function createRedisConnection(config: RedisStoreConfig, deps: { readonly log: StoreLog }): RedisConnection {
  const endpoint = endpointOptions(config.url);
  const options: RedisOptions = {
    ...endpoint,
    keyPrefix: config.keyPrefix,
    connectTimeout: config.connectTimeoutMs,
    commandTimeout: config.commandTimeoutMs,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    retryStrategy: (attempt) => Math.min(attempt * 50, RECONNECT_MAX_DELAY_MS),
    ...(config.password === undefined ? {} : { password: config.password }),
    // Node verifies the server certificate against the system CAs (plus NODE_EXTRA_CA_CERTS) and the host name.
    ...(config.tls ? { tls: { servername: serverName(endpoint.host as string) } } : {}),
  };
  const client = new Redis(options);
  // The URL never carries a password (validate-config refuses one), so it may be logged.
  const where = config.url;
  /** When the current outage began (ISO time), undefined while Redis answers. */
  let downSince: string | undefined;

  client.on('error', (error: Error) => {
    if (downSince !== undefined) return;
    downSince = new Date().toISOString();
    deps.log.error(
      { reason: 'store_unavailable', url: where, err: error },
      'Redis (store.redis) cannot be used (unreachable, or refusing the proxy: see err): logins are refused with a 503 page until it answers; signed-in users keep working',
    );
  });
  client.on('ready', () => {
    if (downSince === undefined) return;
    downSince = undefined;
    deps.log.info({ url: where }, 'Redis (store.redis.url) answers again: logins work again');
  });

  const run = async <T>(operation: string, commands: (client: Redis) => Promise<T>): Promise<T> => {
    if (downSince !== undefined) {
      throw new StoreUnavailableError(
        `Redis at ${where} has not been answering since ${downSince}, so ${operation} was not attempted; the connection is retried in the background (store.redis.url)`,
        { detail: operation },
      );
    }
    try {
      return await commands(client);
    } catch (error) {
      throw new StoreUnavailableError(
        `Redis at ${where} failed during ${operation}: ${(error as Error).message}. Check that Redis runs and is reachable (store.redis.url), ` +
          `or raise store.redis.commandTimeoutMs if it is only slow`,
        { cause: error, detail: operation },
      );
    }
  };

  return {
    client,
    run,
    async ping() {
      await run('ping', (redis) => redis.ping());
    },
    async close() {
      await client.quit().catch(() => undefined);
      client.disconnect();
    },
  };
}
