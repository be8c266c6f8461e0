/**
 * The No account, Account deactivated, Access denied and Not unique pages say whom the IdP signed in and offer to
 * sign in as someone else (a new login with ForceAuthn), so a wrong IdP account is not a dead end until the IdP
 * session expires.
 */
import { isSsoProxyError } from '../errors.js';
import type { PageExtras } from './respond.js';

/** Refusals of a signed-in person that another IdP account may not get. */
const DEAD_ENDS: ReadonlySet<string> = new Set(['ERR_IDENTITY', 'ERR_IDENTITY_AMBIGUOUS', 'ERR_ACCESS_DENIED']);

/** What the page of `error` adds, when it is such a dead end; `reauthHref`: the login start with ForceAuthn. */
export function deadEndWayOut(error: unknown, signedInAs: string, reauthHref: string): PageExtras {
  if (!isSsoProxyError(error) || !DEAD_ENDS.has(error.code) || error.detail === 'emergency_access_refused') return {};
  return {
    note: `Your identity provider signed you in as "${signedInAs}". If that is not the account you meant to use, sign in as someone else.`,
    link: { href: reauthHref, text: 'Sign in as someone else' },
  };
}
