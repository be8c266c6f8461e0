import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AppConfig } from '../config/runtime-config.js';
import { BadRequestError, isSsoProxyError, UnknownHostError } from '../errors.js';
import type { LoginCompleter } from '../flows/complete-login.js';
import type { CrowdCookieConfig } from '../flows/ports.js';
import type { LoginStarter } from '../flows/start-login.js';
import type { Logger } from '../observability/logger.js';
import type { AccessDecision } from '../observability/metrics.js';
import type { ReturnUrlPolicy } from '../policy/return-url.js';
import type { Router } from '../policy/route.js';
import { serializeSignedOutMarkerClear } from '../policy/signed-out-marker.js';
import type { ClientAddress, ClientAddressResolver } from '../proxy/client-address.js';
import { removeConnectionOptions } from '../proxy/connection-options.js';
import type { Forwarder } from '../proxy/forwarder.js';
import type { AppGate } from './app-gate.js';
import { createCachedReadiness } from './cached-readiness.js';
import { originalRequest, sendVerdict } from './forward-auth.js';
import { createAcsEndpoint } from './acs-endpoint.js';
import { deadEndWayOut } from './dead-end-pages.js';
import { lingerAfterAnswer } from './linger-close.js';
import { refuseLoginStart, type LoginStartBudget } from './login-start-budget.js';
import type { FormBodyLimits } from './read-form-body.js';
import { requestIdFrom } from './request-id.js';
import type { AccessFacts, RequestObserver } from './request-observer.js';
import { signInLink } from './logout-responses.js';
import { redirect, respondError, sendJson, sendPage, type PageExtras } from './respond.js';
import type { SloEndpoint } from './slo-endpoint.js';

export interface Readiness {
  readonly ok: boolean;
  readonly checks: Readonly<Record<string, string>>;
}

export interface RequestHandlerDeps {
  readonly logger: Logger;
  readonly publicScheme: 'http' | 'https';
  readonly listenerProto: 'http' | 'https';
  /** Prefix of the proxy's own endpoints (`/_sso`). */
  readonly pathPrefix: string;
  /** saml.acsMaxBytes and saml.bodyTimeoutSeconds. */
  readonly formLimits: FormBodyLimits;
  readonly router: Router;
  readonly returnUrls: ReturnUrlPolicy;
  readonly resolveClient: ClientAddressResolver;
  readonly forwarder: Forwarder;
  readonly loginStarter: LoginStarter;
  /** saml.maxLoginStartsPerClientPerMinute (shared with the gate's login starts). */
  readonly loginStartBudget: LoginStartBudget;
  readonly loginCompleter: LoginCompleter;
  /** Every request to an app: access rules, session, logout, emergency access, observe mode. */
  readonly appGate: AppGate;
  /** `/_sso/saml/slo`: single logout. */
  readonly slo: SloEndpoint;
  readonly cookieConfig: () => Promise<CrowdCookieConfig>;
  readonly metadataXml: () => string;
  readonly readiness: () => Promise<Readiness>;
  /** Access log line, request metrics, login counters. */
  readonly observer: RequestObserver;
}

/** How old the app hosts' `/_sso/ready` answer may be. */
const READINESS_MAX_AGE_MS = 5_000;

/** Per-request facts, all set once in the constructor (no per-request closures on the hot path). */
class RequestContext implements AccessFacts {
  readonly reqId: string;
  readonly startedMs: number;
  readonly host: string | undefined;
  readonly method: string | undefined;
  readonly path: string;
  readonly query: string;
  readonly clientIp: string;
  /** The scheme the client used, when known (TLS listener, or X-Forwarded-Proto from a trusted proxy). */
  readonly proto: 'http' | 'https' | undefined;
  /** The connection comes from one of trustedProxies (its X-Forwarded-* headers were believed). */
  readonly fromTrustedProxy: boolean;
  app: AppConfig | undefined;
  /** `error` until the request is routed and decided. */
  decision: AccessDecision;
  user: string | undefined;
  forwardedAtMs: number | undefined;
  /** An ACS post: its failure is a failed login. */
  isLogin: boolean;

  constructor(req: IncomingMessage, client: ClientAddress) {
    this.startedMs = performance.now();
    this.reqId = requestIdFrom(req.headers['x-request-id'], client.fromTrustedProxy);
    this.host = req.headers.host?.toLowerCase();
    this.method = req.method;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    this.path = q < 0 ? url : url.slice(0, q);
    this.query = q < 0 ? '' : url.slice(q + 1);
    this.clientIp = client.clientIp;
    this.proto = client.proto;
    this.fromTrustedProxy = client.fromTrustedProxy;
    this.app = undefined;
    this.decision = 'error';
    this.user = undefined;
    this.forwardedAtMs = undefined;
    this.isLogin = false;
  }
}

/**
 * The request entry: route by Host, then either a built-in endpoint, or the app's gate (app-gate.ts: access
 * rules, session, logout, emergency access, observe mode). Every failure ends in `respondError`.
 */
export function createRequestHandler(deps: RequestHandlerDeps) {
  const { logger, router, observer } = deps;
  const appHostReadiness = createCachedReadiness(deps.readiness, READINESS_MAX_AGE_MS);
  const forwardAuthPath = `${deps.pathPrefix}/auth`;

  function fail(error: unknown, req: IncomingMessage, res: ServerResponse, ctx: RequestContext, extras: PageExtras = wayOut(error, ctx)): void {
    if (ctx.isLogin) observer.loginFailed(error);
    respondError(logger, error, req, res, { reqId: ctx.reqId, host: ctx.host, app: ctx.app?.name }, extras);
  }

  /** `signedInAs`: the IdP's NameID at the ACS, the Crowd user on an app page (dead-end-pages.ts). */
  function wayOut(error: unknown, ctx: RequestContext, signedInAs = ctx.user, returnUrl?: string): PageExtras {
    if (signedInAs === undefined || ctx.host === undefined) return {};
    const target = returnUrl ?? deps.returnUrls.absolute(ctx.host, ctx.query === '' ? ctx.path : `${ctx.path}?${ctx.query}`);
    return deadEndWayOut(error, signedInAs, signInLink(deps.pathPrefix, target, { reauth: true }));
  }

  const acsEndpoint = createAcsEndpoint({
    logger,
    formLimits: deps.formLimits,
    loginCompleter: deps.loginCompleter,
    observer,
    fail: (error, req, res, ctx, signedInAs, returnUrl) => fail(error, req, res, ctx as RequestContext, wayOut(error, ctx as RequestContext, signedInAs, returnUrl)),
    startUrl: (host, app) => deps.returnUrls.absolute(host, app.startPath),
  });

  async function endpoint(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, name: string | undefined, app: AppConfig): Promise<void> {
    switch (name) {
      case 'saml/acs':
        return acsEndpoint.handle(req, res, ctx, app);
      case 'saml/slo':
        return deps.slo.handle(req, res, { reqId: ctx.reqId, host: ctx.host as string, query: ctx.query }, app);
      case 'saml/metadata': {
        const xml = deps.metadataXml();
        res.writeHead(200, { 'content-type': 'application/samlmetadata+xml; charset=utf-8', 'content-length': Buffer.byteLength(xml) });
        res.end(xml);
        return;
      }
      case 'login': {
        const host = ctx.host as string;
        const requested = new URLSearchParams(ctx.query).get('return');
        const returnUrl = (requested === null ? undefined : deps.returnUrls.resolve(requested, host)) ?? deps.returnUrls.absolute(host, app.startPath);
        const refusal = deps.loginStartBudget.admit(ctx.clientIp);
        if (refusal !== undefined) {
          refuseLoginStart(res, refusal, { reqId: ctx.reqId, host: ctx.host, app: app.name }, logger);
          return;
        }
        // reauth=1: "Sign in as someone else" on a dead-end page; the IdP asks for credentials again.
        const forceAuthn = new URLSearchParams(ctx.query).get('reauth') === '1';
        const started = await deps.loginStarter.start(host, returnUrl, { authnContext: app.requiredAuthnContext, forceAuthn });
        // An explicit sign-in ends the pause a logout put on automatic sign-in.
        redirect(res, 302, started.redirectUrl, { 'set-cookie': [started.setCookie, serializeSignedOutMarkerClear(await deps.cookieConfig())] });
        return;
      }
      case 'health':
        sendJson(res, 200, { status: 'ok' });
        return;
      case 'ready': {
        // Status only, from a cached probe: which Crowd URL failed and how is for the admin listener's /ready.
        const readiness = await appHostReadiness();
        sendJson(res, readiness.ok ? 200 : 503, { status: readiness.ok ? 'ready' : 'not ready' });
        return;
      }
      default:
        sendPage(res, 'not-found', { status: 404, message: 'There is no such page on the sign-in service.', requestId: ctx.reqId });
    }
  }

  /** Synchronous for a signed-in user's request answered from the caches (app-gate.ts); may throw. */
  /**
   * `<pathPrefix>/auth`, forward-auth mode (forward-auth.ts): the edge proxy asks about the request it is about to
   * forward; routed by the original request's host, decided by the gate exactly as a request to the standalone proxy.
   */
  async function forwardAuth(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
    ctx.decision = 'internal';
    if (!ctx.fromTrustedProxy) {
      logger.warn(
        { reqId: ctx.reqId, clientIp: ctx.clientIp, reason: 'forward_auth_untrusted' },
        `forward-auth request from ${ctx.clientIp}, which is not in trustedProxies: refused. Add the edge proxy's address to trustedProxies.`,
      );
      sendJson(res, 403, { error: 'ERR_FORBIDDEN', reason: 'forward_auth_untrusted', message: 'Only a trusted edge proxy may ask.', requestId: ctx.reqId });
      return;
    }
    const original = originalRequest(req);
    if (original === undefined) {
      throw new BadRequestError('a forward-auth request without X-Original-URI (nginx) or X-Forwarded-Uri (Traefik, Caddy): configure the edge proxy as README "Behind your nginx, Traefik or Caddy" says', {
        detail: 'forward_auth_no_uri',
      });
    }
    const originalCtx = new RequestContext(original, { clientIp: ctx.clientIp, proto: ctx.proto, fromTrustedProxy: true });
    const redirectMode = new URLSearchParams(ctx.query).get('redirect') === '1';
    if (!originalCtx.path.startsWith('/')) {
      sendVerdict(res, { kind: 'deny', status: 403, challenge: undefined }, redirectMode);
      return;
    }
    const route = router.route(originalCtx.host, originalCtx.path);
    if (route.kind === 'unknown-host') {
      logger.warn({ reqId: ctx.reqId, host: originalCtx.host, reason: 'unknown_host' }, `forward-auth: no app in apps[].hosts serves host "${originalCtx.host?.slice(0, 200) ?? '(none)'}": refused`);
      sendVerdict(res, { kind: 'deny', status: 403, challenge: undefined }, redirectMode);
      return;
    }
    ctx.app = route.app;
    // The product's own endpoints are proxied to it directly, never through the auth request. A request the edge proxy
    // asks about that routes there is one whose raw path the app would read elsewhere (`/_sso/../browse/X-1`): refused.
    if (route.kind === 'endpoint') {
      logger.warn(
        { reqId: ctx.reqId, host: originalCtx.host, app: route.app.name, reason: 'forward_auth_endpoint_path', path: originalCtx.path.slice(0, 200) },
        `forward-auth: asked about a path below ${deps.pathPrefix}/, which the edge proxy must send to the product directly: refused`,
      );
      sendVerdict(res, { kind: 'deny', status: 403, challenge: undefined }, redirectMode);
      return;
    }
    const verdict = await deps.appGate.authorize(original, originalCtx, route.app);
    ctx.user = originalCtx.user;
    if (route.kind === 'app') ctx.decision = originalCtx.decision;
    // The host was routed to a configured app: an absolute login URL on it is no open redirect.
    sendVerdict(res, verdict, redirectMode, `${originalCtx.proto ?? deps.publicScheme}://${originalCtx.host as string}`);
  }

  function handle(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void | Promise<void> {
    if (ctx.path === forwardAuthPath) return forwardAuth(req, res, ctx);
    if (!ctx.path.startsWith('/')) throw new BadRequestError(`request target "${req.url?.slice(0, 200)}" is not a path`, { detail: 'request_target' });
    const route = router.route(ctx.host, ctx.path);
    if (route.kind === 'unknown-host') {
      throw new UnknownHostError(`no app in apps[].hosts serves host "${ctx.host?.slice(0, 200) ?? '(none)'}"`, { detail: 'unknown_host' });
    }
    ctx.app = route.app;
    if (route.kind === 'endpoint') {
      ctx.decision = 'internal';
      return endpoint(req, res, ctx, route.endpoint, route.app);
    }
    return deps.appGate.handle(req, res, ctx, route.app);
  }

  return {
    onRequest(req: IncomingMessage, res: ServerResponse): void {
      const ctx = new RequestContext(req, deps.resolveClient(req.socket, req.headers, deps.listenerProto));
      // Decide on the headers the app will get: those a Connection header names never reach it.
      removeConnectionOptions(req.headers);
      res.setHeader('x-request-id', ctx.reqId);
      observer.track(res, ctx);
      lingerAfterAnswer(res);
      let pending: void | Promise<void>;
      try {
        pending = handle(req, res, ctx);
      } catch (error) {
        fail(error, req, res, ctx);
        return;
      }
      if (pending instanceof Promise) pending.catch((error: unknown) => fail(error, req, res, ctx));
    },

    /** WebSocket upgrades: forwarded as the app's access rules allow (a valid Crowd session by default); never redirected. */
    onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
      const ctx = new RequestContext(req, deps.resolveClient(req.socket, req.headers, deps.listenerProto));
      removeConnectionOptions(req.headers);
      const refuse = (status: number, text: string): void => {
        observer.upgrade(ctx, status);
        socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nX-Request-Id: ${ctx.reqId}\r\nContent-Length: 0\r\n\r\n`);
      };
      socket.on('error', () => socket.destroy());
      const route = router.route(ctx.host, ctx.path);
      if (route.kind !== 'app') {
        refuse(route.kind === 'unknown-host' ? 421 : 404, route.kind === 'unknown-host' ? 'Misdirected Request' : 'Not Found');
        return;
      }
      ctx.app = route.app;
      deps.appGate
        .upgrade(req, ctx, route.app)
        .then((forward) => {
          if (forward === 401 || forward === 403) {
            ctx.decision = forward === 401 ? 'deny-401' : 'deny-403';
            refuse(forward, forward === 401 ? 'Unauthorized' : 'Forbidden');
            return;
          }
          ctx.decision = 'forward';
          observer.upgrade(ctx, 101);
          deps.forwarder.forwardUpgrade(req, socket, head, forward);
        })
        .catch((error: unknown) => {
          if (isSsoProxyError(error) && error.code === 'ERR_ACCESS_DENIED') {
            logger.warn({ reqId: ctx.reqId, host: ctx.host, app: route.app.name, code: error.code, reason: error.reason, detail: error.detail }, error.message);
            refuse(403, 'Forbidden');
            return;
          }
          logger.error({ reqId: ctx.reqId, host: ctx.host, app: route.app.name, err: error }, 'WebSocket upgrade refused: the session could not be checked');
          refuse(503, 'Service Unavailable');
        });
    },
  };
}

export type RequestHandler = ReturnType<typeof createRequestHandler>;
