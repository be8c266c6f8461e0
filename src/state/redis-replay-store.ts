import { createHash } from 'node:crypto';
import type { ReplayStore } from './memory-replay-store.js';
import type { RedisConnection } from './redis-connection.js';

export interface RedisReplayStoreOptions {
  readonly now?: () => number;
}

/** Key of a used assertion ID: hashed, so that the key length is fixed whatever the IdP puts in the ID. */
function replayKey(id: string): string {
  return `replay:${createHash('sha256').update(id).digest('base64url')}`;
}

/**
 * Assertion-replay cache shared by every instance: one atomic `SET key 1 NX PX ttl` per assertion, so that of
 * any number of concurrent ACS posts of one assertion, on any instances, exactly one wins.
 *
 * The lifetime is relative (PX, computed with this instance's clock, the one that validated the assertion's
 * time window) rather than absolute (PXAT, Redis's clock): a Redis clock ahead of the proxies cannot shorten it.
 * Throws StoreUnavailableError when Redis does not answer: the caller must refuse the login (fail closed).
 */
export function createRedisReplayStore(connection: RedisConnection, options: RedisReplayStoreOptions = {}): ReplayStore {
  const now = options.now ?? Date.now;
  return {
    async markUsed(id, expiresAtMs) {
      // An ID that is already past its lifetime is still recorded briefly, so that concurrent posts race on the key.
      const ttlMs = Math.max(1_000, Math.ceil(expiresAtMs - now()));
      const reply = await connection.run('mark_assertion_used', (redis) => redis.set(replayKey(id), '1', 'PX', ttlMs, 'NX'));
      return reply === 'OK';
    },
  };
}
