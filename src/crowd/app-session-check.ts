/**
 * apps[].crowdApplication: a session the proxy holds as valid is validated once more the way the app validates it,
 * with the app's own Crowd application (its application permissions, the same validation factors). A user whom Crowd
 * does not let into the app is then told so, instead of landing on the app's local login form. Answers are cached
 * like token validations (one Crowd call per token and factor set per TTL, single flight); denials too, so a refused
 * user's every click does not cost a Crowd call.
 */
import { LRUCache } from 'lru-cache';
import { AccessDeniedError, AppRefusedSessionError, isSsoProxyError } from '../errors.js';
import type { CrowdSession, ValidationFactor } from './crowd-types.js';

/** `denied`: Crowd's APPLICATION_ACCESS_DENIED for the app; `invalid`: the app's Crowd application does not know the token. */
export type AppSessionVerdict = 'allowed' | 'denied' | 'invalid';

export interface AppSessionCheckOptions {
  /** A Crowd client authenticated as the app's own Crowd application. */
  readonly crowd: { validateSession(token: string, factors: readonly ValidationFactor[]): Promise<CrowdSession | null> };
  readonly ttlMs: number;
  readonly maxEntries: number;
  readonly now?: () => number;
}

export interface AppSessionCheck {
  /** Throws what the Crowd client throws when Crowd cannot answer (CrowdUnavailableError, CrowdRejectedError). */
  check(token: string, factors: readonly ValidationFactor[], cacheKey: string): Promise<AppSessionVerdict>;
  /**
   * `check`, as the gate needs it: resolves when the app's Crowd application accepts the session; throws
   * AccessDeniedError (Crowd does not let the user into the app) or AppRefusedSessionError (it does not know the token).
   */
  enforce(app: { readonly name: string; readonly crowdApplication: string }, user: string, token: string, factors: readonly ValidationFactor[], cacheKey: string): Promise<void>;
  forget(token: string): void;
}

/** By token; a token is nearly always validated with one factor set, so another set simply replaces the answer. */
interface Cached {
  readonly cacheKey: string;
  readonly verdict: AppSessionVerdict;
  readonly expiresAtMs: number;
}

export function createAppSessionCheck(options: AppSessionCheckOptions): AppSessionCheck {
  const now = options.now ?? Date.now;
  const answers = new LRUCache<string, Cached>({ max: options.maxEntries });
  const inFlight = new Map<string, Promise<AppSessionVerdict>>();

  async function ask(token: string, factors: readonly ValidationFactor[]): Promise<AppSessionVerdict> {
    try {
      return (await options.crowd.validateSession(token, factors)) === null ? 'invalid' : 'allowed';
    } catch (error) {
      if (isSsoProxyError(error) && error.code === 'ERR_ACCESS_DENIED') return 'denied';
      throw error;
    }
  }

  function check(token: string, factors: readonly ValidationFactor[], cacheKey: string): Promise<AppSessionVerdict> {
    const key = `${token}\0${cacheKey}`;
    const cached = answers.get(token);
    if (cached !== undefined && cached.cacheKey === cacheKey && cached.expiresAtMs > now()) return Promise.resolve(cached.verdict);
    const pending = inFlight.get(key);
    if (pending !== undefined) return pending;
    const promise = ask(token, factors)
      .then((verdict) => {
        answers.set(token, { cacheKey, verdict, expiresAtMs: now() + options.ttlMs });
        return verdict;
      })
      .finally(() => inFlight.delete(key));
    inFlight.set(key, promise);
    return promise;
  }

  return {
    check,
    async enforce(app, user, token, factors, cacheKey) {
      const verdict = await check(token, factors, cacheKey);
      if (verdict === 'allowed') return;
      if (verdict === 'denied') {
        throw new AccessDeniedError(
          `Crowd does not let "${user}" use app "${app.name}": validating the session as its Crowd application "${app.crowdApplication}" (apps[].crowdApplication) answered APPLICATION_ACCESS_DENIED. In Crowd, allow the user or one of their groups under Applications → ${app.crowdApplication}, or keep the proxy's own application (crowd.applicationName) no wider than the app's.`,
          { detail: 'APPLICATION_ACCESS_DENIED', publicMessage: `You are signed in, but your account may not use ${app.name}. Ask your administrator for access, quoting the reference below.` },
        );
      }
      throw new AppRefusedSessionError(
        `the Crowd application "${app.crowdApplication}" of app "${app.name}" (apps[].crowdApplication) does not know the session of "${user}" that the proxy's application holds valid: check that both applications use the same directories and that the validation factors match (crowd.validationFactors)`,
        { detail: 'app_application_invalid' },
      );
    },
    forget(token) {
      answers.delete(token);
    },
  };
}
