import type { RuntimeConfig } from '../config/runtime-config.js';
import { createMemoryReplayStore, type ReplayStore } from './memory-replay-store.js';
import { createMemorySessionStore } from './memory-session-store.js';
import type { SessionStore } from './session-store.js';
import { createRedisConnection, type StoreLog } from './redis-connection.js';
import { createRedisReplayStore } from './redis-replay-store.js';
import { createRedisSessionStore } from './redis-session-store.js';
import { createMemorySessionEvents, createRedisSessionEvents, type SessionEvents } from './session-events.js';

/** Everything several instances have to share. */
export interface Stores {
  readonly replay: ReplayStore;
  readonly sessions: SessionStore;
  readonly sessionEvents: SessionEvents;
  /** For the readiness report: resolves when the stores answer; throws StoreUnavailableError otherwise. */
  check(): Promise<void>;
  close(): Promise<void>;
}

export interface StoresDeps {
  readonly log: StoreLog & { warn(fields: Record<string, unknown>, message: string): void };
}

/**
 * The stores the configuration asks for: in Redis with `store.redis` (several instances or worker processes),
 * else in memory (one process). Built once per process: a reload keeps them (config/restart-only-changes.ts).
 */
export function createStores(config: RuntimeConfig, deps: StoresDeps): Stores {
  const redis = config.store.redis;
  if (redis === undefined) {
    if (config.workers !== 1) {
      deps.log.warn(
        { workers: config.workers },
        'workers is not 1 but store.redis is not set: each worker process keeps its own assertion-replay cache and session index, ' +
          'so a captured SAML response could be replayed to another worker, IdP-initiated logout misses sessions of other workers, ' +
          'and after a logout the other workers trust their cached answer for the token until crowd.cacheTtlMs runs out; set store.redis',
      );
    }
    return {
      replay: createMemoryReplayStore(),
      sessions: createMemorySessionStore(),
      sessionEvents: createMemorySessionEvents(),
      check: async () => {},
      close: async () => {},
    };
  }
  const connection = createRedisConnection(redis, deps);
  const sessionEvents = createRedisSessionEvents(connection, redis.keyPrefix);
  return {
    replay: createRedisReplayStore(connection),
    sessions: createRedisSessionStore(connection),
    sessionEvents,
    check: () => connection.ping(),
    close: async () => {
      await Promise.all([sessionEvents.close(), connection.close()]);
    },
  };
}
