/**
 * Crowd validation factors the proxy sends when it creates and validates SSO sessions
 * (crowd.md §3). The factors must resolve, in Crowd, to the same client as the factors each
 * Atlassian app computes when it validates the cookie; see `ValidationFactorsConfig`.
 */
import type { ValidationFactorsConfig } from '../config/runtime-config.js';

import type { ValidationFactor } from './crowd-types.js';

export const REMOTE_ADDRESS_FACTOR = 'remote_address';
/** Exactly this spelling: Crowd treats any other spelling as an unknown factor (crowd.md §8.1). */
export const X_FORWARDED_FOR_FACTOR = 'X-Forwarded-For';

const IPV4_MAPPED_PREFIX = '::ffff:';
const IPV4_DOTTED = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/**
 * The textual form Tomcat reports for an address: IPv6 zone id (`%eth0`) removed and an
 * IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) written as plain IPv4 (`10.0.0.1`).
 */
export function normalizeIpAddress(address: string): string {
  const zoneAt = address.indexOf('%');
  const withoutZone = zoneAt === -1 ? address : address.slice(0, zoneAt);
  if (withoutZone.length > IPV4_MAPPED_PREFIX.length && withoutZone.slice(0, IPV4_MAPPED_PREFIX.length).toLowerCase() === IPV4_MAPPED_PREFIX) {
    const tail = withoutZone.slice(IPV4_MAPPED_PREFIX.length);
    if (IPV4_DOTTED.test(tail)) return tail;
  }
  return withoutZone;
}

/**
 * Factors for `POST /session` and `POST /session/{token}` (crowd.md §3.4):
 * - `client-ip`: `[remote_address = client IP]`;
 * - `as-upstream`: `[remote_address = proxyAddress]`, plus `X-Forwarded-For = client IP` when it
 *   differs from `proxyAddress`, which is what the Java client in each app sends when the proxy
 *   forwards a single-entry `X-Forwarded-For: <client IP>`.
 */
export function computeValidationFactors(config: ValidationFactorsConfig, clientIp: string): ValidationFactor[] {
  const client = normalizeIpAddress(clientIp);
  if (config.mode === 'client-ip') return [{ name: REMOTE_ADDRESS_FACTOR, value: client }];
  const proxy = normalizeIpAddress(config.proxyAddress);
  const factors: ValidationFactor[] = [{ name: REMOTE_ADDRESS_FACTOR, value: proxy }];
  if (client !== proxy) factors.push({ name: X_FORWARDED_FOR_FACTOR, value: client });
  return factors;
}

/**
 * The token validator's cache key for a factor set: equal factor lists give equal keys, so a validation done
 * with one set of factors is never reused for another.
 */
export function validationFactorsCacheKey(factors: readonly ValidationFactor[]): string {
  let key = '';
  for (const factor of factors) key += `${factor.name}=${factor.value}\n`;
  return key;
}
