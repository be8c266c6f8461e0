import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { BadRequestError, isSsoProxyError, UnknownHostError } from '../errors.js';
import type { LoginCompleter } from '../flows/complete-login.js';
import type { CrowdCookieConfig } from '../flows/ports.js';
import type { LoginStarter } from '../flows/start-login.js';
import type { Logger } from '../observability/logger.js';
import type { ReturnUrlPolicy } from '../policy/return-url.js';
import type { Router } from '../policy/route.js';
import { serializeSignedOutMarkerClear } from '../policy/signed-out-marker.js';
import type { ClientAddressResolver } from '../proxy/client-address.js';
import { removeConnectionOptions } from '../proxy/connection-options.js';
import type { AppGate } from './app-gate.js';
import type { AppSite } from './app-site.js';
import { createCachedReadiness } from './cached-readiness.js';
import { originalRequest, sendVerdict } from './forward-auth.js';
import { createAcsEndpoint } from './acs-endpoint.js';
import { deadEndWayOut } from './dead-end-pages.js';
import { lingerAfterAnswer } from './linger-close.js';
import { refuseLoginStart, type LoginStartBudget } from './login-start-budget.js';
import type { FormBodyLimits } from './read-form-body.js';
import { RequestContext, type RoutedContext } from './request-context.js';
import type { RequestObserver } from './request-observer.js';
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
  /** Host → the app's site, built at startup. */
  readonly router: Router<AppSite>;
  readonly returnUrls: ReturnUrlPolicy;
  readonly resolveClient: ClientAddressResolver;
  readonly loginStarter: LoginStarter;
  /** saml.maxLoginStartsPerClientPerMinute (shared with the gate's login starts). */
  readonly loginStartBudget: LoginStartBudget;
  readonly loginCompleter: LoginCompleter;
  /** Every request to an app: path rules, session, logout, emergency access, observe mode. */
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
    respondError(logger, error, req, res, { reqId: ctx.requestId, host: ctx.host, app: ctx.site?.app.name }, extras);
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
    fail: (error, req, res, ctx, signedInAs, returnUrl) => fail(error, req, res, ctx, wayOut(error, ctx, signedInAs, returnUrl)),
    returnUrls: deps.returnUrls,
  });

  async function endpoint(req: IncomingMessage, res: ServerResponse, ctx: RoutedContext, name: string | undefined): Promise<void> {
    const { app } = ctx.site;
    switch (name) {
      case 'saml/acs':
        return acsEndpoint.handle(req, res, ctx);
      case 'saml/slo':
        return deps.slo.handle(req, res, ctx);
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
          refuseLoginStart(res, refusal, { reqId: ctx.requestId, host: ctx.host, app: app.name }, logger);
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
        sendPage(res, 'not-found', { status: 404, message: 'There is no such page on the sign-in service.', requestId: ctx.requestId });
    }
  }

  /**
   * `<pathPrefix>/auth`, forward-auth mode (forward-auth.ts): the edge proxy asks about the request it is about to
   * forward; routed by the original request's host, decided by the gate exactly as a request to the standalone proxy.
   */
  async function forwardAuth(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
    ctx.decision = 'internal';
    if (!ctx.fromTrustedProxy) {
      logger.warn(
        { reqId: ctx.requestId, clientIp: ctx.clientIp, reason: 'forward_auth_untrusted' },
        `forward-auth request from ${ctx.clientIp}, which is not in trustedProxies: refused. Add the edge proxy's address to trustedProxies.`,
      );
      sendJson(res, 403, { error: 'ERR_FORBIDDEN', reason: 'forward_auth_untrusted', message: 'Only a trusted edge proxy may ask.', requestId: ctx.requestId });
      return;
    }
    const original = originalRequest(req);
    if (original === undefined) {
      throw new BadRequestError('a forward-auth request without X-Original-URI (nginx) or X-Forwarded-Uri (Traefik, Caddy): configure the edge proxy as README "Behind your nginx, Traefik or Caddy" says', {
        detail: 'forward_auth_no_uri',
      });
    }
    const originalCtx = new RequestContext(original, { clientIp: ctx.clientIp, proto: ctx.proto, fromTrustedProxy: true }, deps.publicScheme);
    const redirectMode = new URLSearchParams(ctx.query).get('redirect') === '1';
    if (!originalCtx.path.startsWith('/')) {
      sendVerdict(res, { kind: 'deny', status: 403, challenge: undefined }, redirectMode);
      return;
    }
    const route = router.route(originalCtx.host, originalCtx.path);
    if (route.kind === 'unknown-host') {
      logger.warn({ reqId: ctx.requestId, host: originalCtx.host, reason: 'unknown_host' }, `forward-auth: no app in apps[].hosts serves host "${originalCtx.host?.slice(0, 200) ?? '(none)'}": refused`);
      sendVerdict(res, { kind: 'deny', status: 403, challenge: undefined }, redirectMode);
      return;
    }
    ctx.site = route.site;
    // The product's own endpoints are proxied to it directly, never through the auth request. A request the edge proxy
    // asks about that routes there is one whose raw path the app would read elsewhere (`/_sso/../browse/X-1`): refused.
    if (route.kind === 'endpoint') {
      logger.warn(
        { reqId: ctx.requestId, host: originalCtx.host, app: route.site.app.name, reason: 'forward_auth_endpoint_path', path: originalCtx.path.slice(0, 200) },
        `forward-auth: asked about a path below ${deps.pathPrefix}/, which the edge proxy must send to the product directly: refused`,
      );
      sendVerdict(res, { kind: 'deny', status: 403, challenge: undefined }, redirectMode);
      return;
    }
    originalCtx.site = route.site;
    const verdict = await deps.appGate.authorize(original, originalCtx as RoutedContext);
    ctx.user = originalCtx.user;
    ctx.decision = originalCtx.decision;
    // The host was routed to a configured app: an absolute login URL on it is no open redirect.
    sendVerdict(res, verdict, redirectMode, `${originalCtx.proto}://${originalCtx.host as string}`);
  }

  function handle(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void | Promise<void> {
    if (ctx.path === forwardAuthPath) return forwardAuth(req, res, ctx);
    if (!ctx.path.startsWith('/')) throw new BadRequestError(`request target "${req.url?.slice(0, 200)}" is not a path`, { detail: 'request_target' });
    const route = router.route(ctx.host, ctx.path);
    if (route.kind === 'unknown-host') {
      throw new UnknownHostError(`no app in apps[].hosts serves host "${ctx.host?.slice(0, 200) ?? '(none)'}"`, { detail: 'unknown_host' });
    }
    ctx.site = route.site;
    if (route.kind === 'endpoint') {
      ctx.decision = 'internal';
      return endpoint(req, res, ctx as RoutedContext, route.endpoint);
    }
    return deps.appGate.handle(req, res, ctx as RoutedContext);
  }

  return {
    onRequest(req: IncomingMessage, res: ServerResponse): void {
      const ctx = new RequestContext(req, deps.resolveClient(req.socket, req.headers, deps.listenerProto), deps.publicScheme);
      // Decide on the headers the app will get: those a Connection header names never reach it.
      removeConnectionOptions(req.headers);
      res.setHeader('x-request-id', ctx.requestId);
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

    /** WebSocket upgrades: forwarded as the app's path rules allow (a valid Crowd session by default); never redirected. */
    onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
      const ctx = new RequestContext(req, deps.resolveClient(req.socket, req.headers, deps.listenerProto), deps.publicScheme);
      removeConnectionOptions(req.headers);
      const refuse = (status: number, text: string): void => {
        observer.upgrade(ctx, status);
        socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nX-Request-Id: ${ctx.requestId}\r\nContent-Length: 0\r\n\r\n`);
      };
      socket.on('error', () => socket.destroy());
      const route = router.route(ctx.host, ctx.path);
      if (route.kind !== 'app') {
        refuse(route.kind === 'unknown-host' ? 421 : 404, route.kind === 'unknown-host' ? 'Misdirected Request' : 'Not Found');
        return;
      }
      ctx.site = route.site;
      const routed = ctx as RoutedContext;
      deps.appGate
        .upgrade(req, routed)
        .then((answer) => {
          if (answer !== 'forward') {
            ctx.decision = answer === 401 ? 'deny-401' : 'deny-403';
            refuse(answer, answer === 401 ? 'Unauthorized' : 'Forbidden');
            return;
          }
          ctx.decision = 'forward';
          observer.upgrade(ctx, 101);
          routed.site.upstream.forwardUpgrade(req, socket, head, routed);
        })
        .catch((error: unknown) => {
          if (isSsoProxyError(error) && error.code === 'ERR_ACCESS_DENIED') {
            logger.warn({ reqId: ctx.requestId, host: ctx.host, app: route.site.app.name, code: error.code, reason: error.reason, detail: error.detail }, error.message);
            refuse(403, 'Forbidden');
            return;
          }
          logger.error({ reqId: ctx.requestId, host: ctx.host, app: route.site.app.name, err: error }, 'WebSocket upgrade refused: the session could not be checked');
          refuse(503, 'Service Unavailable');
        });
    },
  };
}

export type RequestHandler = ReturnType<typeof createRequestHandler>;
