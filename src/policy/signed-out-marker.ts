/**
 * The short-lived marker a logout leaves in the browser (crowd.md §5.4): while it is there, a browser without a
 * session is shown the signed-out page instead of being sent to the IdP, which would sign it straight back in.
 * Set on Crowd's SSO domain like the Crowd cookie, so every app host sees it. Its value carries no meaning: a
 * forged one only keeps its own browser from being signed in automatically.
 */
import type { CrowdCookieConfig } from '../crowd/crowd-types.js';

export const SIGNED_OUT_MARKER = 'crowd_sso_proxy_signed_out';

export function serializeSignedOutMarker(cookie: CrowdCookieConfig, maxAgeMs: number): string {
  return `${SIGNED_OUT_MARKER}=1; Path=/${cookie.domain ? `; Domain=${cookie.domain}` : ''}; Max-Age=${Math.max(1, Math.round(maxAgeMs / 1000))}${cookie.secure ? '; Secure' : ''}; HttpOnly; SameSite=Lax`;
}

/** An explicit sign-in (`/_sso/login`) removes the marker. */
export function serializeSignedOutMarkerClear(cookie: CrowdCookieConfig): string {
  return `${SIGNED_OUT_MARKER}=; Path=/${cookie.domain ? `; Domain=${cookie.domain}` : ''}; Max-Age=0${cookie.secure ? '; Secure' : ''}; HttpOnly; SameSite=Lax`;
}
