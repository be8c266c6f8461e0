import type { CrowdSession, FactorSet, TokenValidatorPort } from './ports.js';

export interface AuthenticatorDeps {
  readonly tokenValidator: TokenValidatorPort;
  readonly validationFactors: (clientIp: string) => FactorSet;
  /** `validationFactors(clientIp).cacheKey` without building the factors (the cache-hit path needs the key only). */
  readonly factorsCacheKey: (clientIp: string) => string;
}

export interface Authenticated {
  readonly token: string;
  readonly session: CrowdSession;
}

/** Browsers can hold a stale host-only cookie beside the domain cookie; look at a few, never at unbounded input. */
const MAX_CANDIDATES = 3;
/** Candidates one request may ask Crowd about: the first one not cached, and one more (a stale cookie beside the valid one). */
const MAX_UNCACHED_CANDIDATES = 2;

/**
 * The gate: is one of the request's Crowd tokens valid for this client? Candidates are tried in the
 * order the browser sent them; the first valid one wins. Cached answers cost nothing; at most two candidates
 * per request are put to Crowd, out of the client's budget. Crowd errors propagate (the caller answers 503).
 */
export function createAuthenticator(deps: AuthenticatorDeps) {
  return {
    async authenticate(candidates: readonly string[], clientIp: string): Promise<Authenticated | undefined> {
      if (candidates.length === 0) return undefined;
      const { factors, cacheKey } = deps.validationFactors(clientIp);
      const count = Math.min(candidates.length, MAX_CANDIDATES);
      let uncached = 0;
      for (let i = 0; i < count; i++) {
        const token = candidates[i] as string;
        const known = deps.tokenValidator.cached(token, cacheKey);
        if (known === null) continue;
        if (known !== undefined) return { token, session: known };
        if (uncached === MAX_UNCACHED_CANDIDATES) return undefined;
        uncached += 1;
        const session = await deps.tokenValidator.validate(token, factors, cacheKey, clientIp);
        if (session !== null) return { token, session };
      }
      return undefined;
    },

    /**
     * The same answer from cached validations only: Authenticated, null (every candidate known invalid, or none), or
     * undefined when a candidate that matters is not cached (then `authenticate` must ask Crowd).
     */
    fromCache(candidates: readonly string[], clientIp: string): Authenticated | null | undefined {
      if (candidates.length === 0) return null;
      const cacheKey = deps.factorsCacheKey(clientIp);
      const count = Math.min(candidates.length, MAX_CANDIDATES);
      for (let i = 0; i < count; i++) {
        const token = candidates[i] as string;
        const session = deps.tokenValidator.cached(token, cacheKey);
        if (session === undefined) return undefined;
        if (session !== null) return { token, session };
      }
      return null;
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
