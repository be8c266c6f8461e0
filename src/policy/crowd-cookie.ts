/**
 * The Set-Cookie values for Crowd's SSO cookie, written exactly as the Atlassian apps write it
 * (crowd.md §4.2): Path=/, the SSO domain, Secure when Crowd says so, HttpOnly; plus SameSite=Lax.
 * No Expires/Max-Age: a browser-session cookie, like the apps'.
 */
import type { CrowdCookieConfig } from '../crowd/crowd-types.js';

export function serializeCrowdCookie(cookie: CrowdCookieConfig, token: string): string {
  return `${cookie.name}=${token}; Path=/${cookie.domain ? `; Domain=${cookie.domain}` : ''}${cookie.secure ? '; Secure' : ''}; HttpOnly; SameSite=Lax`;
}

/**
 * When Crowd's cookie has a Domain, a stale host-only cookie of the same name would shadow it
 * (apps read the first one): expire the host-only one too.
 */
export function serializeCrowdCookieClears(cookie: CrowdCookieConfig, scope: 'host-only' | 'domain'): string {
  const domain = scope === 'domain' && cookie.domain ? `; Domain=${cookie.domain}` : '';
  return `${cookie.name}=; Path=/${domain}; Max-Age=0${cookie.secure ? '; Secure' : ''}; HttpOnly; SameSite=Lax`;
}
