/**
 * apps[].emergencyAccess: which requests are emergency requests, and whether one may pass (allowed network,
 * and the secret header when configured). Compiled at startup; the network check is injected (a BlockList
 * built from allowFrom).
 */
import { timingSafeEqual } from 'node:crypto';
import type { EmergencyAccessConfig } from '../config/runtime-config.js';

export interface EmergencyAccess {
  /** The emergency login page itself (path, and the query switch when configured). */
  isEmergencyPage(method: string, path: string, query: string): boolean;
  /** A POST of the app's own login form (or to the emergency page without the switch): emergency only when allowed. */
  isLoginForm(method: string, path: string): boolean;
  /** From an allowed network, with the right secret header when one is configured. */
  allows(clientIp: string, secretHeaderValue: string | undefined): boolean;
  /** The secret header's name (lower-case), when one is configured. */
  readonly secretHeaderName: string | undefined;
}

export function createEmergencyAccess(config: EmergencyAccessConfig, isAllowedNetwork: (clientIp: string) => boolean): EmergencyAccess {
  const formPaths = new Set([config.path, ...config.loginFormPaths]);
  const secret = config.secretHeader === undefined ? undefined : Buffer.from(config.secretHeader.value, 'utf8');
  return {
    secretHeaderName: config.secretHeader?.name,
    isEmergencyPage(method, path, query) {
      if (path !== config.path || (method !== 'GET' && method !== 'HEAD')) return false;
      return config.query === undefined || hasQueryParameter(query, config.query);
    },
    isLoginForm(method, path) {
      return method === 'POST' && formPaths.has(path);
    },
    allows(clientIp, secretHeaderValue) {
      if (clientIp === '' || !isAllowedNetwork(clientIp)) return false;
      if (secret === undefined) return true;
      if (secretHeaderValue === undefined) return false;
      const given = Buffer.from(secretHeaderValue, 'utf8');
      return given.length === secret.length && timingSafeEqual(given, secret);
    },
  };
}

/** `nosso` in `nosso`, `a=1&nosso`, `nosso=&b`, `nosso=true`. */
function hasQueryParameter(query: string, name: string): boolean {
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if ((eq === -1 ? pair : pair.slice(0, eq)) === name) return true;
  }
  return false;
}
