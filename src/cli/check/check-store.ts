import { randomUUID } from 'node:crypto';
import type { RuntimeConfig } from '../../config/runtime-config.js';
import { createRedisConnection, type RedisConnection } from '../../state/redis-connection.js';
import { createRedisReplayStore } from '../../state/redis-replay-store.js';
import { createRedisSessionStore } from '../../state/redis-session-store.js';
import { sessionEventsChannel } from '../../state/session-events.js';
import type { CheckItem } from './check-item.js';

/** How long the probe keys live (they are also deleted at once). */
const PROBE_TTL_MS = 60_000;

const silent = { info: () => {}, error: () => {} };

/**
 * store.redis: every command the proxy uses works with these credentials (a replay mark, a session record with its
 * index script, a lookup, a removal, a message on the session-ended channel), not only a PING: an ACL user without
 * EVAL would pass a PING and fail logins. Nothing to check for the in-memory store.
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
    await checkSessionEvents(connection, redis.keyPrefix, probe);
    return [{ name: 'store', ok: true, detail: `Redis at ${redis.url} (keyPrefix "${redis.keyPrefix}"${redis.tls ? ', TLS' : ''}) stores and finds sessions, and passes logout messages` }];
  } catch (error) {
    return [{ name: 'store', ok: false, detail: error instanceof Error ? error.message : String(error) }];
  } finally {
    await connection.close();
  }
}

/** SUBSCRIBE and PUBLISH on the session-ended channel, and the message arrives (bounded by commandTimeoutMs). */
async function checkSessionEvents(connection: RedisConnection, keyPrefix: string, probe: string): Promise<void> {
  const channel = sessionEventsChannel(keyPrefix);
  const subscriber = connection.client.duplicate();
  subscriber.on('error', () => {});
  try {
    const heard = new Promise<void>((resolve) => subscriber.on('message', (from: string, text: string) => from === channel && text === probe && resolve()));
    await subscriber.subscribe(channel).catch((error: unknown) => {
      throw new Error(`SUBSCRIBE ${channel} failed: ${(error as Error).message} (an ACL user needs "&${keyPrefix}*" and +subscribe)`);
    });
    await connection.client.publish(channel, probe).catch((error: unknown) => {
      throw new Error(`PUBLISH ${channel} failed: ${(error as Error).message} (an ACL user needs "&${keyPrefix}*" and +publish)`);
    });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), connection.client.options.commandTimeout ?? 1_000)));
    const outcome = await Promise.race([heard, late]);
    clearTimeout(timer);
    if (outcome === 'late') throw new Error(`a message published on ${channel} did not arrive; logouts would not reach the other instances`);
  } finally {
    subscriber.disconnect();
  }
}
