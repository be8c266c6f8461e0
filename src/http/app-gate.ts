/**
 * The gate in front of an app: delivers the forward flow's decision (flows/forward-request.ts) — a forward, a login
 * start, a refusal, the app's logout — for a plain request (`handle`), a WebSocket upgrade (`upgrade`) or a
 * forward-auth subrequest (`authorize`). One decision, one way to prepare what reaches the app; only the delivery
 * differs. In observe mode every decision is made and logged, and the request is forwarded exactly as it came.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AccessDeniedError, isSsoProxyError } from '../errors.js';
import type { ForwardDecision, ForwardRequestFlow } from '../flows/forward-request.js';
import type { LogoutFlow } from '../flows/logout.js';
import type { LoginStarter } from '../flows/start-login.js';
import type { Logger } from '../observability/logger.js';
import type { AccessDecision } from '../observability/metrics.js';
import type { Decision, PathMatch } from '../policy/app-policy.js';
import { isFromBrowser, requestKindFacts } from '../policy/request-kind.js';
import type { ReturnUrlPolicy } from '../policy/return-url.js';
import { createAppLogout } from './app-logout.js';
import type { ForwardAuthVerdict } from './forward-auth.js';
import { refuseLoginStart, type LoginStartBudget } from './login-start-budget.js';
import { sendLoginStartPage } from './login-start-page.js';
import { SIGNED_OUT_MESSAGES, sendPlain, signInLink, signedOutResponse } from './logout-responses.js';
import type { RoutedContext } from './request-context.js';
import { redirect, sendJson } from './respond.js';

export interface AppGateDeps {
  readonly logger: Logger;
  readonly pathPrefix: string;
  readonly forwardRequest: ForwardRequestFlow;
  readonly loginStarter: LoginStarter;
  /** saml.maxLoginStartsPerClientPerMinute, for the login starts that redirect at once (HEAD, form posts). */
  readonly loginStartBudget: LoginStartBudget;
  readonly logout: LogoutFlow;
  /** logout.redirectUrl */
  readonly logoutRedirectUrl: string | undefined;
  readonly returnUrls: ReturnUrlPolicy;
}

const ABSOLUTE_URL = /^https?:\/\//i;

const UNAUTHENTICATED_MESSAGES: Readonly<Record<string, string>> = {
  'no-session': 'Not signed in. Open the application in a browser to sign in, or send the credentials the application accepts.',
  'session-ended': 'Your session has ended. Reload the page to sign in again.',
  'session-too-old': 'Your session has ended. Reload the page to sign in again.',
  'step-up': 'This application needs a stronger sign-in. Reload the page to sign in again.',
};

const OBSERVED: Readonly<Record<Decision['kind'], string>> = {
  forward: 'would forward with the valid SSO session',
  'forward-anonymous': 'would forward anonymously, without the Crowd cookie',
  emergency: 'would allow emergency access without SSO',
  login: 'would send the browser to the IdP',
  'signed-out': 'would show the signed-out page instead of signing in again',
  'deny-401': 'would refuse with 401',
  'deny-403': 'would refuse emergency access with 403',
  logout: "would end the SSO session after the application's logout",
};

const METRIC_DECISION: Readonly<Record<Decision['kind'], AccessDecision>> = {
  forward: 'forward',
  'forward-anonymous': 'forward-anonymous',
  emergency: 'forward',
  login: 'login',
  'signed-out': 'internal',
  'deny-401': 'deny-401',
  'deny-403': 'deny-403',
  logout: 'forward',
};

export function createAppGate(deps: AppGateDeps) {
  const { logger, forwardRequest: flow } = deps;
  const appLogout = createAppLogout({ logger, logout: deps.logout, logoutRedirectUrl: deps.logoutRedirectUrl, crowdCookies: flow.crowdCookies });

  /** The one way a forwarding decision goes upstream: the flow prepares what the app gets, then the app's upstream sends it. */
  function forward(req: IncomingMessage, res: ServerResponse, ctx: RoutedContext, decided: ForwardDecision): void | Promise<void> {
    const prepared = flow.prepareForward(req, ctx, ctx.site.app, decided);
    if (prepared instanceof Promise) return prepared.then(() => ctx.site.upstream.forward(req, res, ctx));
    ctx.site.upstream.forward(req, res, ctx);
  }

  function logEmergency(req: IncomingMessage, ctx: RoutedContext, what: string): void {
    const app = ctx.site.app.name;
    logger.warn(
      { reqId: ctx.requestId, host: ctx.host, app, decision: 'emergency', reason: 'emergency_access', clientIp: ctx.clientIp, path: ctx.path, method: req.method },
      `emergency access: ${req.method ?? 'GET'} ${ctx.path} ${what} without SSO for ${ctx.clientIp} (apps[].emergencyAccess of "${app}")`,
    );
  }

  function logSignInAgain(ctx: RoutedContext, decision: Decision): void {
    if (decision.why === 'no-session') return;
    logger.info({ reqId: ctx.requestId, host: ctx.host, app: ctx.site.app.name, decision: 'login', reason: decision.why, user: ctx.user }, `signing in again: ${decision.why}`);
  }

  function basicChallenge(req: IncomingMessage, ctx: RoutedContext): string | undefined {
    // git, Maven, curl and credential helpers send credentials only when challenged, as the app itself would.
    return isFromBrowser(requestKindFacts(req.method, req.headers)) ? undefined : `Basic realm="${ctx.site.app.basicRealm ?? ctx.site.app.name}"`;
  }

  function observe(req: IncomingMessage, res: ServerResponse, ctx: RoutedContext, outcome: { match: PathMatch; decision: Decision } | { error: unknown }): void {
    const fields = { reqId: ctx.requestId, host: ctx.host, app: ctx.site.app.name, mode: 'observe', user: ctx.user };
    if ('error' in outcome) {
      const code = isSsoProxyError(outcome.error) ? outcome.error.code : 'ERR_INTERNAL';
      logger.warn({ ...fields, decision: 'error', code }, `observe mode: would answer with an error (${code}); forwarded untouched`);
    } else {
      const { decision, match } = outcome;
      logger.info({ ...fields, decision: decision.kind, reason: decision.why, rule: match.source }, `observe mode: ${OBSERVED[decision.kind]} (${decision.why}, ${match.source})`);
    }
    ctx.decision = 'forward';
    ctx.site.upstream.forward(req, res, ctx);
  }

  function loginReturnUrl(req: IncomingMessage, ctx: RoutedContext, match: PathMatch): string {
    const host = ctx.host as string;
    const { app } = ctx.site;
    if (match.kind === 'login-page') {
      // The app's own login page names where it wanted to go (os_destination, next); the page itself is no place to land.
      const query = new URLSearchParams(ctx.query);
      for (const name of app.returnParameters) {
        const wanted = query.get(name);
        // Confluence sometimes names a page without its leading slash.
        const candidate = wanted === null || wanted.startsWith('/') || ABSOLUTE_URL.test(wanted) ? wanted : `/${wanted}`;
        const resolved = candidate === null ? undefined : deps.returnUrls.resolve(candidate, host);
        if (resolved !== undefined) return resolved;
      }
      return deps.returnUrls.absolute(host, app.startPath);
    }
    return deps.returnUrls.resolve(req.url ?? '/', host) ?? deps.returnUrls.absolute(host, app.startPath);
  }

  function signInHref(ctx: RoutedContext): string {
    return signInLink(deps.pathPrefix, deps.returnUrls.absolute(ctx.host as string, ctx.site.app.startPath));
  }

  /** Acts on the decision; synchronous unless the answer needs Crowd's cookie configuration or a new login. */
  function act(req: IncomingMessage, res: ServerResponse, ctx: RoutedContext, decided: ForwardDecision): void | Promise<void> {
    const { match, decision } = decided;
    ctx.decision = METRIC_DECISION[decision.kind];
    switch (decision.kind) {
      case 'emergency':
        logEmergency(req, ctx, 'forwarded');
        return forward(req, res, ctx, decided);
      case 'forward':
      case 'forward-anonymous':
        return forward(req, res, ctx, decided);
      case 'login':
        return startLogin(req, res, ctx, match, decision);
      case 'signed-out':
        sendPlain(res, signedOutResponse({ requestId: ctx.requestId, redirectUrl: undefined, signInHref: signInHref(ctx), message: SIGNED_OUT_MESSAGES.recently }));
        return;
      case 'deny-401': {
        const challenge = basicChallenge(req, ctx);
        sendJson(res, 401, { error: 'ERR_UNAUTHENTICATED', reason: decision.why, message: UNAUTHENTICATED_MESSAGES[decision.why], requestId: ctx.requestId }, challenge === undefined ? {} : { 'www-authenticate': challenge });
        return;
      }
      case 'deny-403':
        throw emergencyRefused(ctx);
      case 'logout': {
        // The proxy ends the Crowd session itself; the app ends its own (JSESSIONID) without seeing an unchecked token.
        const prepared = flow.prepareForward(req, ctx, ctx.site.app, decided);
        if (prepared instanceof Promise) return prepared.then(() => appLogout.handle(req, res, ctx, signInHref(ctx)));
        appLogout.handle(req, res, ctx, signInHref(ctx));
        return;
      }
    }
  }

  async function observeRequest(req: IncomingMessage, res: ServerResponse, ctx: RoutedContext): Promise<void> {
    let outcome: { match: PathMatch; decision: Decision } | { error: unknown };
    try {
      outcome = await flow.decide(req, ctx, ctx.site, true);
    } catch (error) {
      outcome = { error };
    }
    observe(req, res, ctx, outcome);
  }

  /**
   * A GET navigation gets the login-start page (it keeps the URL's fragment, which only the browser knows); other
   * navigations (HEAD, a form post) are redirected to the IdP at once.
   */
  async function startLogin(req: IncomingMessage, res: ServerResponse, ctx: RoutedContext, match: PathMatch, decision: Decision): Promise<void> {
    const host = ctx.host as string;
    const { app } = ctx.site;
    logSignInAgain(ctx, decision);
    const returnUrl = loginReturnUrl(req, ctx, match);
    if (req.method === 'GET') {
      sendLoginStartPage(res, signInLink(deps.pathPrefix, returnUrl, { reauth: decision.forceAuthn }));
      return;
    }
    const refusal = deps.loginStartBudget.admit(ctx.clientIp);
    if (refusal !== undefined) {
      refuseLoginStart(res, refusal, { reqId: ctx.requestId, host, app: app.name }, logger);
      return;
    }
    const started = await deps.loginStarter.start(host, returnUrl, { forceAuthn: decision.forceAuthn, authnContext: app.requiredAuthnContext });
    redirect(res, 302, started.redirectUrl, { 'set-cookie': started.setCookie });
  }

  return {
    /**
     * Synchronous when cached answers settle the request (a signed-in user's next request: no promise on the hot
     * path); a promise otherwise. May throw (or reject) an SsoProxyError for the caller to answer.
     */
    handle(req: IncomingMessage, res: ServerResponse, ctx: RoutedContext): void | Promise<void> {
      if (ctx.site.policy.observe) return observeRequest(req, res, ctx);
      const decided = flow.decide(req, ctx, ctx.site, true);
      if (decided instanceof Promise) return decided.then((later) => act(req, res, ctx, later));
      return act(req, res, ctx, decided);
    },

    /**
     * Forward-auth mode (forward-auth.ts): the same decision as `handle`, delivered as a verdict for the edge proxy.
     * The app's logout and login paths belong to the standalone path (the generated edge configs route them to the
     * product), which rewrites the app's answer; here a logout only loses its Crowd cookie.
     */
    async authorize(req: IncomingMessage, ctx: RoutedContext): Promise<ForwardAuthVerdict> {
      const asSent = req.headers.cookie ?? '';
      if (ctx.site.policy.observe) {
        ctx.decision = 'forward';
        return { kind: 'allow', cookieHeader: asSent, user: undefined };
      }
      const decided = await flow.decide(req, ctx, ctx.site, true);
      const { decision, match } = decided;
      ctx.decision = METRIC_DECISION[decision.kind];
      switch (decision.kind) {
        case 'emergency':
        case 'forward':
        case 'forward-anonymous':
        case 'logout':
          if (decision.kind === 'emergency') logEmergency(req, ctx, 'allowed');
          await flow.prepareForward(req, ctx, ctx.site.app, decided);
          return { kind: 'allow', cookieHeader: ctx.cookieHeader ?? asSent, user: decision.kind === 'forward' ? ctx.user : undefined };
        case 'login':
          logSignInAgain(ctx, decision);
          return { kind: 'login', signInHref: signInLink(deps.pathPrefix, loginReturnUrl(req, ctx, match), { reauth: decision.forceAuthn }) };
        case 'signed-out':
          return { kind: 'login', signInHref: signInHref(ctx) };
        case 'deny-401':
          return { kind: 'deny', status: 401, challenge: basicChallenge(req, ctx) };
        case 'deny-403': {
          const refused = emergencyRefused(ctx);
          logger.warn({ reqId: ctx.requestId, host: ctx.host, app: ctx.site.app.name, reason: 'emergency_access_refused', clientIp: ctx.clientIp }, refused.message);
          return { kind: 'deny', status: 403, challenge: undefined };
        }
      }
    },

    /** WebSocket upgrades are never redirected: forward (with `ctx` prepared for it), or the status to refuse with. */
    async upgrade(req: IncomingMessage, ctx: RoutedContext): Promise<'forward' | 401 | 403> {
      const { observe: observing } = ctx.site.policy;
      let decided: ForwardDecision;
      try {
        decided = await flow.decide(req, ctx, ctx.site, false);
      } catch (error) {
        if (!observing) throw error;
        return 'forward';
      }
      if (observing) return 'forward';
      switch (decided.decision.kind) {
        case 'forward':
        case 'forward-anonymous':
        case 'emergency':
          await flow.prepareForward(req, ctx, ctx.site.app, decided);
          return 'forward';
        case 'deny-403':
          return 403;
        default:
          return 401;
      }
    },
  };
}

export type AppGate = ReturnType<typeof createAppGate>;

function emergencyRefused(ctx: RoutedContext): AccessDeniedError {
  return new AccessDeniedError(
    `emergency access to ${ctx.path} of app "${ctx.site.app.name}" refused for ${ctx.clientIp}: not in apps[].emergencyAccess.allowFrom, or the secret header is missing or wrong`,
    { detail: 'emergency_access_refused', publicMessage: 'Signing in without single sign-on is not available from here.' },
  );
}
