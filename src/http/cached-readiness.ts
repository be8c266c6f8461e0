/**
 * Readiness for the app hosts, where anyone can ask: the last probe's answer, probed again at most every `maxAgeMs`
 * and by one call at a time, so a flood of `/_sso/ready` hits costs Crowd and the IdP nothing more.
 */
import type { Readiness } from './request-handler.js';

export function createCachedReadiness(probe: () => Promise<Readiness>, maxAgeMs: number, now: () => number = Date.now): () => Promise<Readiness> {
  let last: { readonly at: number; readonly answer: Readiness } | undefined;
  let pending: Promise<Readiness> | undefined;
  return () => {
    if (last !== undefined && now() - last.at < maxAgeMs) return Promise.resolve(last.answer);
    pending ??= probe().then(
      (answer) => {
        last = { at: now(), answer };
        pending = undefined;
        return answer;
      },
      (error: unknown) => {
        pending = undefined;
        throw error;
      },
    );
    return pending;
  };
}
