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
  /** Upper bound on tokens with cached answers; the least recently used is dropped first. */
  readonly maxEntries: number;
  readonly now?: () => number;
  /** Told about every validation: `true` when answered without a new Crowd call (cached, or joined one in flight). */
  readonly onLookup?: (hit: boolean) => void;
}

export interface TokenValidator {
  /** `cacheKey` distinguishes factor sets; equal token + key share one cached answer and one Crowd call. */
  validate(token: string, factors: readonly ValidationFactor[], cacheKey: string): Promise<CrowdSession | null>;
  /**
   * The cached answer, without asking Crowd: the session, null (known invalid), or undefined (not cached or
   * expired: `validate` must ask). Counts as a cache hit when it answers. The gate's synchronous fast path.
   */
  cached(token: string, cacheKey: string): CrowdSession | null | undefined;
  /** Drops every cached answer and in-flight call for this token (after logout). */
  forget(token: string): void;
  /** Tokens with cached answers right now (bounded by `maxEntries`). */
  entries(): number;
}

/** One cached answer; the answers for other factor sets of the same token follow in `next` (nearly always none). */
interface CachedAnswer {
  readonly cacheKey: string;
  readonly session: CrowdSession | null;
  readonly expiresAtMs: number;
  readonly next: CachedAnswer | undefined;
}

interface InFlight {
  readonly token: string;
  readonly promise: Promise<CrowdSession | null>;
}

/** Factor sets remembered per token: a token used from more client addresses than this forgets the oldest. */
const MAX_ANSWERS_PER_TOKEN = 4;

/** The answers of `head` other than `cacheKey`'s and not expired, at most `limit` of them (newest first). */
function keepOthers(head: CachedAnswer | undefined, cacheKey: string, nowMs: number, limit: number): CachedAnswer | undefined {
  const kept: CachedAnswer[] = [];
  for (let answer = head; answer !== undefined && kept.length < limit; answer = answer.next) {
    if (answer.cacheKey !== cacheKey && answer.expiresAtMs > nowMs) kept.push(answer);
  }
  let next: CachedAnswer | undefined;
  for (let index = kept.length - 1; index >= 0; index--) next = { ...(kept[index] as CachedAnswer), next };
  return next;
}

export function createTokenValidator(options: TokenValidatorOptions): TokenValidator {
  const { crowd, ttlMs, negativeTtlMs, maxEntries, onLookup } = options;
  const now = options.now ?? Date.now;
  /**
   * Keyed by the token alone (not token + factor key), so that a lookup hashes the string the cookie parser made
   * and nothing else.
   */
  const answers = new LRUCache<string, CachedAnswer>({ max: maxEntries });
  /** `<token>\0<cacheKey>` → the one Crowd call under way (misses only). */
  const inFlight = new Map<string, InFlight>();

  const remember = (token: string, cacheKey: string, session: CrowdSession | null): void => {
    const nowMs = now();
    let expiresAtMs = nowMs + (session === null ? negativeTtlMs : ttlMs);
    if (session?.expiresAtMs !== undefined) expiresAtMs = Math.min(expiresAtMs, session.expiresAtMs);
    if (expiresAtMs <= nowMs) return;
    const next = keepOthers(answers.peek(token), cacheKey, nowMs, MAX_ANSWERS_PER_TOKEN - 1);
    answers.set(token, { cacheKey, session, expiresAtMs, next });
  };

  /** Starts the one Crowd call for `key`; only the call still registered when it settles may fill the cache. */
  const askCrowd = (token: string, cacheKey: string, key: string, factors: readonly ValidationFactor[]): Promise<CrowdSession | null> => {
    const isCurrent = (): boolean => inFlight.get(key)?.promise === promise;
    const promise = Promise.resolve()
      .then(() => crowd.validateSession(token, factors))
      .then(
        (session) => {
          if (isCurrent()) {
            inFlight.delete(key);
            remember(token, cacheKey, session);
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

  const cached = (token: string, cacheKey: string): CrowdSession | null | undefined => {
    for (let answer = answers.get(token); answer !== undefined; answer = answer.next) {
      if (answer.cacheKey !== cacheKey) continue;
      if (answer.expiresAtMs <= now()) return undefined;
      onLookup?.(true);
      return answer.session;
    }
    return undefined;
  };

  return {
    validate(token, factors, cacheKey) {
      const answer = cached(token, cacheKey);
      if (answer !== undefined) return Promise.resolve(answer);
      const key = `${token}\0${cacheKey}`;
      const pending = inFlight.get(key);
      onLookup?.(pending !== undefined);
      if (pending !== undefined) return pending.promise;
      return askCrowd(token, cacheKey, key, factors);
    },
    cached,
    forget(token) {
      answers.delete(token);
      for (const [key, call] of inFlight) if (call.token === token) inFlight.delete(key);
    },
    entries: () => answers.size,
  };
}
