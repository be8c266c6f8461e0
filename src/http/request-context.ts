/**
 * One request's state, from the entry to the access line: created once per request (and once for the original
 * request a forward-auth subrequest asks about), read and filled in by everything after it — the router's site, the
 * forward flow (user, the Cookie header to send), the forwarder (when it went upstream), the observer (the access
 * line). Each of those declares the part it reads as an interface this class satisfies, so none of them imports the
 * others. Every field is set in the constructor: one shape, no per-request closures (a lean hot path).
 */
import type { IncomingMessage } from 'node:http';
import type { ForwardRequestContext } from '../flows/forward-request.js';
import type { AccessDecision } from '../observability/metrics.js';
import type { ClientAddress } from '../proxy/client-address.js';
import type { ForwardContext } from '../proxy/forwarder.js';
import type { AppSite } from './app-site.js';
import { requestIdFrom } from './request-id.js';
import type { AccessFacts } from './request-observer.js';

export class RequestContext implements AccessFacts, ForwardContext, ForwardRequestContext {
  readonly requestId: string;
  /** `performance.now()` when the request arrived. */
  readonly startedMs: number;
  readonly host: string | undefined;
  readonly method: string | undefined;
  readonly path: string;
  readonly query: string;
  readonly clientIp: string;
  /** The scheme the client used: the TLS listener's, X-Forwarded-Proto from a trusted proxy, else publicScheme. */
  readonly proto: 'http' | 'https';
  /** The connection comes from one of trustedProxies (its X-Forwarded-* headers were believed). */
  readonly fromTrustedProxy: boolean;
  /** The app the host routed to (with everything built for it at startup). */
  site: AppSite | undefined;
  /** `error` until the request is routed and decided. */
  decision: AccessDecision;
  /** The Crowd user, once known (valid session, or completed login). */
  user: string | undefined;
  /** What the forward sends as `Cookie` (see ForwardContext), decided by the forward flow. */
  cookieHeader: string | undefined;
  dropSetCookie: string | undefined;
  sessionToken: string | undefined;
  forwardedAtMs: number | undefined;
  /** An ACS post: its failure is a failed login. */
  isLogin: boolean;

  constructor(req: IncomingMessage, client: ClientAddress, publicScheme: 'http' | 'https') {
    this.startedMs = performance.now();
    this.requestId = requestIdFrom(req.headers['x-request-id'], client.fromTrustedProxy);
    this.host = req.headers.host?.toLowerCase();
    this.method = req.method;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    this.path = q < 0 ? url : url.slice(0, q);
    this.query = q < 0 ? '' : url.slice(q + 1);
    this.clientIp = client.clientIp;
    this.proto = client.proto ?? publicScheme;
    this.fromTrustedProxy = client.fromTrustedProxy;
    this.site = undefined;
    this.decision = 'error';
    this.user = undefined;
    this.cookieHeader = undefined;
    this.dropSetCookie = undefined;
    this.sessionToken = undefined;
    this.forwardedAtMs = undefined;
    this.isLogin = false;
  }
}

/** A request context once the router has found its app. */
export type RoutedContext = RequestContext & { readonly site: AppSite };
