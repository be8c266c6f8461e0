/**
 * Cached, single-flight lookup of a user's Crowd groups (direct and nested) for apps[].access at the gate:
 * at most one Crowd call per user per TTL, however many requests arrive at once. Only apps with an access
 * restriction use it, so the hot path of unrestricted apps never pays for it.
 */
import { LRUCache } from 'lru-cache';

export interface GroupCacheOptions {
  readonly crowd: { getNestedGroups(username: string): Promise<string[]> };
  /** How long an answer is trusted (crowd.cacheTtlSeconds); 0 asks Crowd every time. */
  readonly ttlMs: number;
  readonly maxEntries: number;
  readonly now?: () => number;
}

export interface GroupCache {
  /** The user's groups, from the cache when fresh. */
  groups(username: string): Promise<readonly string[]>;
  /** Drops what is known about the user (a login changed or checks memberships): the next call asks Crowd. */
  forget(username: string): void;
}

interface CachedGroups {
  readonly groups: readonly string[];
  readonly expiresAtMs: number;
}

export function createGroupCache(options: GroupCacheOptions): GroupCache {
  const now = options.now ?? Date.now;
  const answers = new LRUCache<string, CachedGroups>({ max: options.maxEntries });
  const inFlight = new Map<string, Promise<readonly string[]>>();

  /** Crowd compares usernames ignoring case, so the cache does too. */
  const keyOf = (username: string): string => username.toLowerCase();

  const ask = (username: string, key: string): Promise<readonly string[]> => {
    const promise = options.crowd
      .getNestedGroups(username)
      .then((groups) => {
        if (inFlight.get(key) === promise) {
          inFlight.delete(key);
          if (options.ttlMs > 0) answers.set(key, { groups: Object.freeze([...groups]), expiresAtMs: now() + options.ttlMs });
        }
        return groups;
      })
      .catch((error: unknown) => {
        if (inFlight.get(key) === promise) inFlight.delete(key);
        throw error;
      });
    inFlight.set(key, promise);
    return promise;
  };

  return {
    groups(username) {
      const key = keyOf(username);
      const cached = answers.get(key);
      if (cached !== undefined && cached.expiresAtMs > now()) return Promise.resolve(cached.groups);
      return inFlight.get(key) ?? ask(username, key);
    },
    forget(username) {
      const key = keyOf(username);
      answers.delete(key);
      inFlight.delete(key);
    },
  };
}
