/**
 * For a Crowd session the gate found valid: is it still good enough for this app? Reads what the proxy recorded at
 * the SAML login (session store) and judges it with the pure policy. Records are cached for the token cache's TTL,
 * so with a shared store the hot path stays one map lookup; a cached record that says "no longer good" is read
 * again before acting on it (another instance may have recorded a new login for the same token since).
 */
import { StoreUnavailableError } from '../errors.js';
import { judgeSession, type SessionLimits, type SessionStanding } from '../policy/session-standing.js';
import type { SessionRecord, SessionStorePort } from './ports.js';

export interface SessionJudgeDeps {
  readonly sessions: Pick<SessionStorePort, 'get'>;
  /** crowd.cacheTtlMs: how long a record read from the store is trusted (0 = read it on every request). */
  readonly cacheTtlMs: number;
  readonly maxEntries: number;
  readonly now?: () => number;
}

interface Cached {
  readonly record: SessionRecord | undefined;
  readonly expiresAtMs: number;
}

export interface SessionJudge {
  /**
   * The standing of a valid Crowd session. When the store does not answer, a session is judged without its record
   * (valid, unless the app requires an authentication context: then StoreUnavailableError, as stepping up
   * could not be recorded either and would loop).
   */
  judge(token: string, limits: SessionLimits): Promise<SessionStanding>;
  /** 'valid' when a cached record says so (no store call); undefined when `judge` must decide. */
  cachedValid(token: string, limits: SessionLimits): 'valid' | undefined;
  /** Drops the cached record (after logout). */
  forget(token: string): void;
}

export function createSessionJudge(deps: SessionJudgeDeps): SessionJudge {
  const now = deps.now ?? Date.now;
  const cache = new Map<string, Cached>();

  async function read(token: string, limits: SessionLimits): Promise<SessionRecord | undefined> {
    let record: SessionRecord | undefined;
    try {
      record = await deps.sessions.get(token);
    } catch (error) {
      // Without the record a step-up or an SSO-only rule could not be told apart from a new login's need, and would loop.
      if (error instanceof StoreUnavailableError && limits.requiredClassRefs === undefined && !limits.requireRecord) return undefined;
      throw error;
    }
    if (deps.cacheTtlMs > 0) {
      // Bounded: the oldest entry goes first (Map keeps insertion order).
      if (cache.size >= deps.maxEntries) cache.delete(cache.keys().next().value as string);
      cache.set(token, { record, expiresAtMs: now() + deps.cacheTtlMs });
    }
    return record;
  }

  function cachedValid(token: string, limits: SessionLimits): 'valid' | undefined {
    const nowMs = now();
    const cached = cache.get(token);
    return cached !== undefined && cached.expiresAtMs > nowMs && judgeSession(cached.record, nowMs, limits) === 'valid' ? 'valid' : undefined;
  }

  return {
    async judge(token, limits) {
      return cachedValid(token, limits) ?? judgeSession(await read(token, limits), now(), limits);
    },
    cachedValid,
    forget(token) {
      cache.delete(token);
    },
  };
}
