import { randomUUID } from 'node:crypto';
import type { RuntimeConfig } from '../config/runtime-config.js';
import { createRedisConnection } from '../state/redis-connection.js';
import { createRedisReplayStore } from '../state/redis-replay-store.js';
import { createRedisSessionStore } from '../state/redis-session-store.js';
import type { CheckItem } from './run-check.js';

/** How long the probe keys live (they are also deleted at once). */
const PROBE_TTL_MS = 60_000;

const silent = { info: () => {}, error: () => {} };

/**
 * store.redis: every command the proxy uses works with these credentials (a replay mark, a session record with its
 * index script, a lookup, a removal), not only a PING: an ACL user without EVAL would pass a PING and fail logins.
 * Nothing to check for the in-memory store.
 */
export async function checkStore(config: RuntimeConfig, now: number): Promise<CheckItem[]> {
  const redis = config.store.redis;
  if (redis === undefined) return [];
  const connection = createRedisConnection(redis, { log: silent });
  try {
    const probe = `crowd-sso-proxy-check-${randomUUID()}`;
    await createRedisReplayStore(connection, { now: () => now }).markUsed(probe, now + PROBE_TTL_MS);
    const sessions = createRedisSessionStore(connection, { now: () => now });
    await sessions.record({
      token: probe,
      username: probe,
      issuer: probe,
      nameId: probe,
      nameIdFormat: undefined,
      sessionIndex: undefined,
      authnContextClassRef: undefined,
      createdAtMs: now,
      sessionNotOnOrAfterMs: undefined,
      expiresAtMs: now + PROBE_TTL_MS,
    });
    const found = await sessions.findTokens(probe, probe, undefined);
    await sessions.remove(probe);
    if (found.length !== 1) throw new Error('a session written to Redis could not be read back; is another program deleting keys under store.redis.keyPrefix?');
    return [{ name: 'store', ok: true, detail: `Redis at ${redis.url} (keyPrefix "${redis.keyPrefix}"${redis.tls ? ', TLS' : ''}) stores and finds sessions` }];
  } catch (error) {
    return [{ name: 'store', ok: false, detail: error instanceof Error ? error.message : String(error) }];
  } finally {
    await connection.close();
  }
}
