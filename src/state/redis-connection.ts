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
 * - commands issued while disconnected wait in the offline queue (so the first logins after start-up do not fail
 *   while the connection is still being made), bounded by that timeout and flushed after one failed reconnect
 *   (`maxRetriesPerRequest: 1`), so the queue cannot grow during an outage;
 * - connection errors are logged once per outage, and once when Redis is back.
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
  let down = false;

  client.on('error', (error: Error) => {
    if (down) return;
    down = true;
    deps.log.error(
      { reason: 'store_unavailable', url: where, err: error },
      'Redis (store.redis) cannot be used (unreachable, or refusing the proxy: see err): logins are refused with a 503 page and IdP-initiated logouts answered "Responder" until it answers; signed-in users are not affected',
    );
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    deps.log.info({ url: where }, 'Redis (store.redis.url) is reachable again: logins and IdP-initiated logouts work again');
  });

  const run = async <T>(operation: string, commands: (client: Redis) => Promise<T>): Promise<T> => {
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
