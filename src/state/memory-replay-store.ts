import { LRUCache } from 'lru-cache';

export interface MemoryReplayStoreOptions {
  /** Bound on remembered assertion IDs; the oldest go first. */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

export interface ReplayStore {
  /** Records `id` as used until `expiresAtMs`; false when it was already used. */
  markUsed(id: string, expiresAtMs: number): Promise<boolean>;
}

/**
 * Assertion-replay cache for one instance: each assertion ID is accepted once until it expires.
 * Several instances behind a load balancer need a shared store (the same port, backed by Redis).
 */
export function createMemoryReplayStore(options: MemoryReplayStoreOptions = {}): ReplayStore {
  const now = options.now ?? Date.now;
  const used = new LRUCache<string, number>({ max: options.maxEntries ?? 200_000 });
  return {
    async markUsed(id, expiresAtMs) {
      const current = now();
      const seenUntil = used.get(id);
      if (seenUntil !== undefined && seenUntil > current) return false;
      used.set(id, expiresAtMs);
      return true;
    },
  };
}
