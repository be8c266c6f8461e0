import type { ListenConfig } from '../config/runtime-config.js';
import type { RequestHandler } from './request-handler.js';

/** The `Strict-Transport-Security` value for `listen.hsts`. */
export function strictTransportSecurity(hsts: NonNullable<ListenConfig['hsts']>): string {
  return `max-age=${hsts.maxAgeSeconds}${hsts.includeSubDomains ? '; includeSubDomains' : ''}`;
}

/**
 * `handler` with `Strict-Transport-Security: <value>` set on every response before it runs: the proxy's pages
 * and redirects, and proxied responses (an application that sends its own header replaces it).
 */
export function withStrictTransportSecurity(handler: RequestHandler, value: string): RequestHandler {
  return {
    onRequest(req, res) {
      res.setHeader('strict-transport-security', value);
      handler.onRequest(req, res);
    },
    onUpgrade: handler.onUpgrade,
  };
}
