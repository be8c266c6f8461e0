/**
 * What a request's headers look like when they leave for the app: hop-by-hop headers (and those a Connection header
 * names) removed, client-supplied forwarding and identity headers removed, the proxy's own forwarding headers set, and
 * the Cookie header replaced when the gate decided so.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { removeConnectionOptions } from './connection-options.js';

/** The facts of one forward that its headers carry (a ForwardContext has them). */
export interface UpstreamHeaderFacts {
  readonly clientIp: string;
  readonly proto: 'http' | 'https';
  /** Undefined only for a request without Host, which no router sends anywhere. */
  readonly host: string | undefined;
  readonly requestId: string;
  /** A string REPLACES the request's `Cookie` header upstream (`''` = send none); undefined leaves it as it is. */
  readonly cookieHeader: string | undefined;
}

/**
 * Request headers a client may never hand to an upstream: forwarding headers (the proxy sets its own) and
 * identity headers that header-based authenticators in front of or inside the apps would believe.
 */
export const CLIENT_HEADERS_REMOVED: readonly string[] = Object.freeze([
  // Forwarding: scheme, host, port, path prefix.
  'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-server',
  'x-forwarded-prefix', 'x-forwarded-scheme', 'x-forwarded-ssl', 'x-forwarded-by', 'front-end-https', 'x-url-scheme',
  'x-original-url', 'x-rewrite-url', 'x-original-uri', 'x-original-method', 'x-forwarded-uri', 'x-forwarded-method',
  // A method the app would act on instead of the one the proxy matched the rules with (Jersey, Spring, Rails honour them).
  'x-http-method-override', 'x-http-method', 'x-method-override',
  // Client address, in the spellings of the usual load balancers and CDNs.
  'x-original-forwarded-for', 'x-real-ip', 'x-client-ip', 'client-ip', 'true-client-ip', 'x-cluster-client-ip',
  'cf-connecting-ip', 'fastly-client-ip',
  // Identity, as set by authenticating proxies (oauth2-proxy, Apache, nginx auth_request, ...).
  'x-remote-user', 'remote-user', 'x-remote-group', 'x-remote-email', 'x-forwarded-user', 'x-forwarded-email',
  'x-forwarded-groups', 'x-forwarded-preferred-username', 'x-forwarded-access-token', 'x-auth-request-user',
  'x-auth-request-email', 'x-auth-request-groups', 'x-auth-request-preferred-username', 'x-auth-request-access-token',
  'x-authenticated-user', 'x-webauth-user', 'x-webauth-email', 'x-proxy-user', 'x-user', 'x-username',
]);

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) plus `expect` (Node has already answered `100-continue`, and the
 * body is streamed upstream regardless). `connection`/`upgrade` are put back for WebSocket upgrades only,
 * which keeps `Upgrade: h2c` and similar tricks away from the upstream.
 */
const HOP_BY_HOP_HEADERS: readonly string[] = Object.freeze([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade', 'http2-settings', 'expect',
]);

/** Every header removed before forwarding: looked up for each header the request has (a dozen), not the other way round. */
const REMOVED_HEADERS: ReadonlySet<string> = new Set([...HOP_BY_HOP_HEADERS, ...CLIENT_HEADERS_REMOVED]);

/**
 * The header pass before forwarding. `upgradeProtocol` is the client's `Upgrade` value for WebSocket
 * upgrades, undefined for plain requests. Runs on every request: no allocation beyond what the
 * `Connection` header forces.
 */
export function prepareUpstreamHeaders(headers: IncomingHttpHeaders, ctx: UpstreamHeaderFacts, upgradeProtocol: string | undefined): void {
  // The request entry has done this before deciding (and removed `Connection`), so here it returns at once.
  removeConnectionOptions(headers);
  for (const name in headers) if (REMOVED_HEADERS.has(name)) delete headers[name];
  if (upgradeProtocol !== undefined) {
    headers.connection = 'upgrade';
    headers.upgrade = upgradeProtocol;
  }
  if (ctx.host !== undefined) {
    if (headers.host === undefined) headers.host = ctx.host;
    headers['x-forwarded-host'] = ctx.host;
  }
  headers['x-forwarded-for'] = ctx.clientIp;
  headers['x-forwarded-proto'] = ctx.proto;
  headers['x-request-id'] = ctx.requestId;
  if (ctx.cookieHeader === '') delete headers.cookie;
  else if (ctx.cookieHeader !== undefined) headers.cookie = ctx.cookieHeader;
}
