/**
 * Cached, single-flight Crowd token validation: at most one Crowd call per token and factor
 * set per TTL, however many requests arrive at once (architecture.md §4).
 *
 * Valid and invalid answers are kept in caches of their own, each bounded by `maxEntries`, so that made-up tokens
 * never push out the answers of signed-in users. A token Crowd said was valid stays "recently valid" for hours after
 * its answer expired: asking Crowd about it again goes ahead at once. A token never seen valid asks `budget` first
 * (per client address and all clients together, validation-budget.ts) and is answered as invalid when refused.
 */
import { LRUCache } from 'lru-cache';
import type { CrowdSession, ValidationFactor } from './crowd-types.js';
import type { ReleaseSlot, ValidationBudget } from './validation-budget.js';

export interface TokenValidatorOptions {
  readonly crowd: {
    validateSession(token: string, factors: readonly ValidationFactor[]): Promise<CrowdSession | null>;
  };
  /** How long a valid session is trusted (never beyond the session's own expiry). */
  readonly ttlMs: number;
  /** How long an invalid token is remembered as invalid. */
  readonly negativeTtlMs: number;
  /** Upper bound on tokens with cached valid answers, and on those with invalid ones; the least recently used go first. */
  readonly maxEntries: number;
  /** What validating a token that was not valid recently may cost; without one, every validation asks Crowd at once. */
  readonly budget?: Pick<ValidationBudget, 'admit'>;
  readonly now?: () => number;
  /** Told about every validation: `true` when answered without a new Crowd call (cached, or joined one in flight). */
  readonly onLookup?: (hit: boolean) => void;
}

export interface TokenValidator {
  /**
   * `cacheKey` distinguishes factor sets; equal token + key share one cached answer and one Crowd call. `clientIp`
   * is whose budget an unknown token's Crowd call comes out of; null when the budget refuses it (nothing is cached).
   */
  validate(token: string, factors: readonly ValidationFactor[], cacheKey: string, clientIp: string): Promise<CrowdSession | null>;
  /**
   * The cached answer, without asking Crowd: the session, null (known invalid), or undefined (not cached or
   * expired: `validate` must ask). Counts as a cache hit when it answers. The gate's synchronous fast path.
   */
  cached(token: string, cacheKey: string): CrowdSession | null | undefined;
  /** A token Crowd has just created for a login here: its first validation goes ahead like a recently valid one's. */
  markValid(token: string): void;
  /**
   * Asks Crowd again at once, past the cache (and any budget): the app disagreed with a cached answer. Joins a call
   * already in flight for the same token and factors; the answer replaces the cached one.
   */
  recheck(token: string, factors: readonly ValidationFactor[], cacheKey: string): Promise<CrowdSession | null>;
  /** Drops every cached answer and in-flight call for this token (after logout). */
  forget(token: string): void;
  /** Tokens with cached answers right now, valid and invalid (each bounded by `maxEntries`). */
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
/** How long a token Crowd said was valid keeps its priority (a working day: back from lunch, the morning's token). */
const RECENTLY_VALID_MS = 8 * 60 * 60_000;
const NO_SLOT: ReleaseSlot = () => undefined;

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

function answerFor(head: CachedAnswer | undefined, cacheKey: string): CachedAnswer | undefined {
  for (let answer = head; answer !== undefined; answer = answer.next) if (answer.cacheKey === cacheKey) return answer;
  return undefined;
}

export function createTokenValidator(options: TokenValidatorOptions): TokenValidator {
  const { crowd, ttlMs, negativeTtlMs, maxEntries, budget, onLookup } = options;
  const now = options.now ?? Date.now;
  /**
   * Keyed by the token alone (not token + factor key), so that a lookup hashes the string the cookie parser made
   * and nothing else. A token + factor key has its answer in one of the two.
   */
  const valid = new LRUCache<string, CachedAnswer>({ max: maxEntries });
  const invalid = new LRUCache<string, CachedAnswer>({ max: maxEntries });
  /** Token → until when it counts as recently valid. */
  const recentlyValid = new LRUCache<string, number>({ max: maxEntries });
  /** `<token>\0<cacheKey>` → the one Crowd call under way (misses only). */
  const inFlight = new Map<string, InFlight>();

  const drop = (answers: LRUCache<string, CachedAnswer>, token: string, cacheKey: string, nowMs: number): void => {
    const head = answers.peek(token);
    if (head === undefined) return;
    const others = keepOthers(head, cacheKey, nowMs, MAX_ANSWERS_PER_TOKEN);
    if (others === undefined) answers.delete(token);
    else answers.set(token, others);
  };

  const remember = (token: string, cacheKey: string, session: CrowdSession | null): void => {
    const nowMs = now();
    const answers = session === null ? invalid : valid;
    drop(session === null ? valid : invalid, token, cacheKey, nowMs);
    if (session === null) recentlyValid.delete(token);
    else recentlyValid.set(token, nowMs + RECENTLY_VALID_MS);
    let expiresAtMs = nowMs + (session === null ? negativeTtlMs : ttlMs);
    if (session?.expiresAtMs !== undefined) expiresAtMs = Math.min(expiresAtMs, session.expiresAtMs);
    if (expiresAtMs <= nowMs) return;
    const next = keepOthers(answers.peek(token), cacheKey, nowMs, MAX_ANSWERS_PER_TOKEN - 1);
    answers.set(token, { cacheKey, session, expiresAtMs, next });
  };

  const isRecentlyValid = (token: string): boolean => {
    const untilMs = recentlyValid.get(token);
    return untilMs !== undefined && untilMs > now();
  };

  /** Starts the one Crowd call for `key` in `slot`; only the call still registered when it settles may fill the cache. */
  const askCrowd = (token: string, cacheKey: string, key: string, factors: readonly ValidationFactor[], slot: ReleaseSlot | Promise<ReleaseSlot | undefined>): Promise<CrowdSession | null> => {
    const isCurrent = (): boolean => inFlight.get(key)?.promise === promise;
    const call = (release: ReleaseSlot): Promise<CrowdSession | null> =>
      crowd
        .validateSession(token, factors)
        .finally(release)
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
    let promise: Promise<CrowdSession | null>;
    if (typeof slot === 'function') {
      onLookup?.(false);
      promise = Promise.resolve(slot).then(call);
    } else {
      promise = slot.then((release) => {
        if (release !== undefined) {
          onLookup?.(false);
          return call(release);
        }
        // Refused after waiting its turn: answered like an invalid token, and remembered as nothing.
        if (isCurrent()) inFlight.delete(key);
        return null;
      });
    }
    inFlight.set(key, { token, promise });
    return promise;
  };

  const cached = (token: string, cacheKey: string): CrowdSession | null | undefined => {
    const answer = answerFor(valid.get(token), cacheKey) ?? answerFor(invalid.get(token), cacheKey);
    if (answer === undefined || answer.expiresAtMs <= now()) return undefined;
    onLookup?.(true);
    return answer.session;
  };

  return {
    validate(token, factors, cacheKey, clientIp) {
      const answer = cached(token, cacheKey);
      if (answer !== undefined) return Promise.resolve(answer);
      const key = `${token}\0${cacheKey}`;
      const pending = inFlight.get(key);
      if (pending !== undefined) {
        onLookup?.(true);
        return pending.promise;
      }
      const slot = budget === undefined || isRecentlyValid(token) ? NO_SLOT : budget.admit(clientIp);
      // Refused at once: answered like an invalid token, and remembered as nothing.
      if (slot === undefined) return Promise.resolve(null);
      return askCrowd(token, cacheKey, key, factors, slot);
    },
    cached,
    recheck(token, factors, cacheKey) {
      const key = `${token}\0${cacheKey}`;
      const pending = inFlight.get(key);
      if (pending !== undefined) return pending.promise;
      return askCrowd(token, cacheKey, key, factors, NO_SLOT);
    },
    markValid(token) {
      recentlyValid.set(token, now() + RECENTLY_VALID_MS);
    },
    forget(token) {
      valid.delete(token);
      invalid.delete(token);
      recentlyValid.delete(token);
      for (const [key, call] of inFlight) if (call.token === token) inFlight.delete(key);
    },
    entries: () => valid.size + invalid.size,
  };
}
