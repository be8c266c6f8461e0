/**
 * Cached, single-flight Crowd token validation: at most one Crowd call per token and factor
 * set per TTL, however many requests arrive at once (architecture.md §4).
 */
import { LRUCache } from 'lru-cache';
import type { CrowdSession } from './crowd-client.js';
import type { ValidationFactor } from './validation-factors.js';

export interface TokenValidatorOptions {
  readonly crowd: {
    validateSession(token: string, factors: readonly ValidationFactor[]): Promise<CrowdSession | null>;
  };
  /** How long a valid session is trusted (never beyond the session's own expiry). */
  readonly ttlMs: number;
  /** How long an invalid token is remembered as invalid. */
  readonly negativeTtlMs: number;
  /** Upper bound on cached answers; the least recently used is dropped first. */
  readonly maxEntries: number;
  readonly now?: () => number;
  /** Told about every validation: `true` when answered without a new Crowd call (cached, or joined one in flight). */
  readonly onLookup?: (hit: boolean) => void;
}

export interface TokenValidator {
  /** `cacheKey` distinguishes factor sets; equal token + key share one cached answer and one Crowd call. */
  validate(token: string, factors: readonly ValidationFactor[], cacheKey: string): Promise<CrowdSession | null>;
  /** Drops every cached answer and in-flight call for this token (after logout). */
  forget(token: string): void;
  /** Cached answers right now (bounded by `maxEntries`). */
  entries(): number;
}

interface CachedAnswer {
  readonly token: string;
  readonly session: CrowdSession | null;
  readonly expiresAtMs: number;
}

interface InFlight {
  readonly token: string;
  readonly promise: Promise<CrowdSession | null>;
}

export function createTokenValidator(options: TokenValidatorOptions): TokenValidator {
  const { crowd, ttlMs, negativeTtlMs, maxEntries, onLookup } = options;
  const now = options.now ?? Date.now;
  /** token → keys of its cached answers, so `forget` needs no scan. */
  const keysByToken = new Map<string, Set<string>>();
  const inFlight = new Map<string, InFlight>();

  const unindex = (token: string, key: string): void => {
    const keys = keysByToken.get(token);
    if (keys === undefined) return;
    keys.delete(key);
    if (keys.size === 0) keysByToken.delete(token);
  };

  const answers = new LRUCache<string, CachedAnswer>({
    max: maxEntries,
    dispose: (answer, key) => unindex(answer.token, key),
  });

  const remember = (token: string, key: string, session: CrowdSession | null): void => {
    const nowMs = now();
    let expiresAtMs = nowMs + (session === null ? negativeTtlMs : ttlMs);
    if (session?.expiresAtMs !== undefined) expiresAtMs = Math.min(expiresAtMs, session.expiresAtMs);
    if (expiresAtMs <= nowMs) return;
    answers.set(key, { token, session, expiresAtMs });
    let keys = keysByToken.get(token);
    if (keys === undefined) {
      keys = new Set();
      keysByToken.set(token, keys);
    }
    keys.add(key);
  };

  /** Starts the one Crowd call for `key`; only the call still registered when it settles may fill the cache. */
  const askCrowd = (token: string, key: string, factors: readonly ValidationFactor[]): Promise<CrowdSession | null> => {
    const isCurrent = (): boolean => inFlight.get(key)?.promise === promise;
    const promise = Promise.resolve()
      .then(() => crowd.validateSession(token, factors))
      .then(
        (session) => {
          if (isCurrent()) {
            inFlight.delete(key);
            remember(token, key, session);
          }
          return session;
        },
        (error: unknown) => {
          if (isCurrent()) inFlight.delete(key);
          throw error;
        },
      );
    inFlight.set(key, { token, promise });
    return promise;
  };

  return {
    validate(token, factors, cacheKey) {
      const key = `${token}\0${cacheKey}`;
      const cached = answers.get(key);
      if (cached !== undefined) {
        if (cached.expiresAtMs > now()) {
          onLookup?.(true);
          return Promise.resolve(cached.session);
        }
        answers.delete(key);
      }
      const pending = inFlight.get(key);
      onLookup?.(pending !== undefined);
      if (pending !== undefined) return pending.promise;
      return askCrowd(token, key, factors);
    },
    forget(token) {
      const keys = keysByToken.get(token);
      if (keys !== undefined) for (const key of [...keys]) answers.delete(key);
      for (const [key, call] of inFlight) if (call.token === token) inFlight.delete(key);
    },
    entries: () => answers.size,
  };
}
