/**
 * The gate in front of an app: gathers the facts the app's policy needs (path kind, credentials, emergency
 * network and secret, the Crowd session and how it stands) — asking Crowd only when the decision depends on it —
 * then acts on the policy's Decision. In observe mode every decision is made and logged, and the request is
 * forwarded exactly as it came (cookies untouched).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppConfig } from '../config/runtime-config.js';
import { AccessDeniedError, isSsoProxyError } from '../errors.js';
import type { Authenticated, Authenticator } from '../flows/authenticate.js';
import type { AccessEnforcer } from '../flows/enforce-access-restriction.js';
import type { SessionJudge } from '../flows/judge-session.js';
import type { LogoutFlow } from '../flows/logout.js';
import type { CrowdCookieConfig } from '../flows/ports.js';
import type { LoginStarter } from '../flows/start-login.js';
import type { Logger } from '../observability/logger.js';
import type { AccessDecision } from '../observability/metrics.js';
import { hasAppCredentials } from '../policy/app-credentials.js';
import type { AppPolicy, Decision, PathMatch, SessionState } from '../policy/app-policy.js';
import { isBrowserNavigation, isFromBrowser, requestKindFacts } from '../policy/request-kind.js';
import type { ReturnUrlPolicy } from '../policy/return-url.js';
import { SIGNED_OUT_MARKER } from '../policy/signed-out-marker.js';
import { findCookie, findCookieValues, isOnlyCookie, mentionsCookie, removeCookie, rewriteCookieHeader } from '../proxy/cookie-header.js';
import type { ForwardContext, Forwarder } from '../proxy/forwarder.js';
import { createAppLogout } from './app-logout.js';
import { SIGNED_OUT_MESSAGES, sendPlain, signInLink, signedOutResponse } from './logout-responses.js';
import type { ForwardAuthVerdict } from './forward-auth.js';
import { refuseLoginStart, type LoginStartBudget } from './login-start-budget.js';
import { sendLoginStartPage } from './login-start-page.js';
import { redirect, sendJson } from './respond.js';

/** The request facts the gate reads, and the access-log fields it fills in (the request entry's context). */
export interface GateContext {
  readonly reqId: string;
  readonly host: string | undefined;
  readonly path: string;
  readonly query: string;
  readonly clientIp: string;
  readonly proto: 'http' | 'https' | undefined;
  decision: AccessDecision;
  user: string | undefined;
  forwardedAtMs: number | undefined;
}

export interface AppGateDeps {
  readonly logger: Logger;
  readonly publicScheme: 'http' | 'https';
  readonly pathPrefix: string;
  /** Every app's compiled policy, by app name. */
  readonly policies: ReadonlyMap<string, AppPolicy>;
  readonly cookieConfig: () => Promise<CrowdCookieConfig>;
  /** The cookie configuration while cached, else undefined (the hot path asks this first). */
  readonly cachedCookieConfig: () => CrowdCookieConfig | undefined;
  readonly authenticator: Authenticator;
  /** apps[].access (who may use the app), checked for every valid session. */
  readonly accessEnforcer: Pick<AccessEnforcer, 'atGate'>;
  /** apps[].crowdApplication: validates a session as the app does; throws AccessDeniedError or AppRefusedSessionError. */
  readonly checkAsApp: (app: AppConfig, user: string, token: string, clientIp: string) => Promise<void>;
  readonly sessionJudge: SessionJudge;
  readonly loginStarter: LoginStarter;
  /** saml.maxLoginStartsPerClientPerMinute, for the login starts that redirect at once (HEAD, form posts). */
  readonly loginStartBudget: LoginStartBudget;
  readonly logout: LogoutFlow;
  /** logout.redirectUrl */
  readonly logoutRedirectUrl: string | undefined;
  readonly returnUrls: ReturnUrlPolicy;
  readonly forwarder: Forwarder;
}

/** What the gate learnt about the Crowd session, for acting on the decision. */
interface SessionFacts {
  readonly cookie: CrowdCookieConfig | undefined;
  readonly authenticated: Authenticated | undefined;
  readonly state: SessionState;
}

/** The request facts the policy decides on, besides the session. */
interface Classified {
  readonly match: PathMatch;
  /** False for WebSocket upgrades, which are never redirected; true for requests (whether one is a browser's navigation is read in `conclude`, when it matters). */
  readonly mayNavigate: boolean;
  readonly emergencyAllowed: boolean;
  readonly hasCredentials: boolean;
}

interface Decided {
  readonly match: PathMatch;
  readonly session: SessionFacts;
  readonly decision: Decision;
}

const ABSOLUTE_URL = /^https?:\/\//i;

const NO_SESSION: SessionFacts = Object.freeze({ cookie: undefined, authenticated: undefined, state: 'none' });

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
  const { logger } = deps;
  const appLogout = createAppLogout({
    logger,
    forwarder: deps.forwarder,
    logout: deps.logout,
    logoutRedirectUrl: deps.logoutRedirectUrl,
    crowdCookies: (req) => crowdCookies(req),
  });

  function policyOf(app: AppConfig): AppPolicy {
    const policy = deps.policies.get(app.name);
    if (policy === undefined) throw new TypeError(`no access policy was compiled for app "${app.name}"`);
    return policy;
  }

  function forwardContext(
    ctx: GateContext,
    app: AppConfig,
    cookieHeader: string | undefined,
    dropSetCookie: string | undefined = undefined,
    sessionToken: string | undefined = undefined,
  ): ForwardContext {
    return { app, clientIp: ctx.clientIp, proto: ctx.proto ?? deps.publicScheme, host: ctx.host as string, requestId: ctx.reqId, cookieHeader, dropSetCookie, sessionToken };
  }

  /**
   * How a forwarding decision goes upstream, the same for requests and WebSocket upgrades: with a validated session,
   * exactly one Crowd cookie, the valid one (whatever else the client sent: empties, duplicates, other cases, quoted or
   * comma-joined copies); otherwise no Crowd cookie at all. The answer to a forward on the client's own credentials
   * may not hand the browser a Crowd session the app made from them (apps[].passCrowdCookieFromCredentials).
   * At once when Crowd's cookie name is known (always, once the proxy has asked Crowd).
   */
  function forwardingFor(req: IncomingMessage, ctx: GateContext, app: AppConfig, decided: Decided): ForwardContext | Promise<ForwardContext> {
    const name = decided.session.cookie?.name ?? deps.cachedCookieConfig()?.name;
    if (name === undefined) return deps.cookieConfig().then((cookie) => forwardingNamed(req, ctx, app, decided, cookie.name));
    return forwardingNamed(req, ctx, app, decided, name);
  }

  function forwardingNamed(req: IncomingMessage, ctx: GateContext, app: AppConfig, decided: Decided, name: string): ForwardContext {
    const header = req.headers.cookie;
    if (decided.decision.kind === 'forward') {
      const token = decided.session.authenticated?.token as string;
      return forwardContext(ctx, app, isOnlyCookie(header, name, token) ? undefined : rewriteCookieHeader(header, name, token), undefined, token);
    }
    const dropSetCookie = decided.decision.why === 'credentials' && !app.passCrowdCookieFromCredentials ? name : undefined;
    return forwardContext(ctx, app, withoutCrowdCookie(header, name), dropSetCookie);
  }

  function forward(req: IncomingMessage, res: ServerResponse, ctx: GateContext, app: AppConfig, decided: Decided): void | Promise<void> {
    const forwarding = forwardingFor(req, ctx, app, decided);
    if (forwarding instanceof Promise) return forwarding.then((later) => forwardNow(req, res, ctx, later));
    forwardNow(req, res, ctx, forwarding);
  }

  function forwardNow(req: IncomingMessage, res: ServerResponse, ctx: GateContext, forwarding: ForwardContext): void {
    ctx.forwardedAtMs = performance.now();
    deps.forwarder.forward(req, res, forwarding);
  }

  /**
   * The hot path: when cached answers settle the session (cookie configuration, token validation, session record),
   * the facts come back at once, without a promise; otherwise from `sessionFactsFromCrowd`.
   */
  function sessionFacts(req: IncomingMessage, ctx: GateContext, policy: AppPolicy): SessionFacts | Promise<SessionFacts> {
    const cookie = deps.cachedCookieConfig();
    // apps[].access asks the store and Crowd's groups, apps[].crowdApplication its own cache: not settled here.
    if (cookie === undefined || policy.app.access !== undefined || policy.app.crowdApplication !== undefined) return sessionFactsFromCrowd(req, ctx, policy);
    const candidates = findCookieValues(req.headers.cookie, cookie.name);
    const known = deps.authenticator.fromCache(candidates, ctx.clientIp);
    if (known === null) return { cookie, authenticated: undefined, state: 'none' };
    if (known === undefined || deps.sessionJudge.cachedValid(known.token, policy.sessionLimits) === undefined) return sessionFactsFromCrowd(req, ctx, policy);
    ctx.user = known.session.username;
    return { cookie, authenticated: known, state: 'valid' };
  }

  async function sessionFactsFromCrowd(req: IncomingMessage, ctx: GateContext, policy: AppPolicy): Promise<SessionFacts> {
    const cookie = await deps.cookieConfig();
    const candidates = findCookieValues(req.headers.cookie, cookie.name);
    const authenticated = await deps.authenticator.authenticate(candidates, ctx.clientIp);
    if (authenticated === undefined) return { cookie, authenticated, state: 'none' };
    ctx.user = authenticated.session.username;
    const state = await deps.sessionJudge.judge(authenticated.token, policy.sessionLimits);
    // A cookie made by a login through another app must not open a restricted one.
    if ((state === 'valid' || state === 'unrecorded') && policy.app.access !== undefined) await deps.accessEnforcer.atGate(policy.app, authenticated.session.username, authenticated.token);
    if ((state === 'valid' || state === 'unrecorded') && policy.app.crowdApplication !== undefined) {
      await deps.checkAsApp(policy.app, authenticated.session.username, authenticated.token, ctx.clientIp);
    }
    return { cookie, authenticated, state };
  }

  /** The match (emergency settled), whether the request has its own credentials, and whether emergency access holds. */
  function classify(req: IncomingMessage, ctx: GateContext, policy: AppPolicy, mayNavigate: boolean): Classified {
    const method = req.method ?? 'GET';
    const raw = policy.match(method, ctx.path, ctx.query);
    const emergency = policy.emergency;
    const emergencyAllowed =
      emergency !== undefined &&
      (raw.kind === 'emergency-page' || raw.kind === 'emergency-form') &&
      emergency.allows(ctx.clientIp, emergency.secretHeaderName === undefined ? undefined : headerText(req.headers[emergency.secretHeaderName]));
    const match = policy.settle(raw, method, ctx.path, emergencyAllowed);
    const hasCredentials = match.kind === 'credentials' && hasAppCredentials(req.headers.authorization);
    return { match, mayNavigate, emergencyAllowed, hasCredentials };
  }

  /** The policy's decision: at once when the session facts came from the cache, else once they are known. */
  function decide(req: IncomingMessage, ctx: GateContext, policy: AppPolicy, mayNavigate: boolean): Decided | Promise<Decided> {
    const classified = classify(req, ctx, policy, mayNavigate);
    const session = policy.needsSession(classified.match, classified.hasCredentials) ? sessionFacts(req, ctx, policy) : NO_SESSION;
    // An app's logout also looks for a Crowd cookie, which may need the cookie configuration from Crowd.
    if (session instanceof Promise || classified.match.kind === 'logout') return decideLater(req, policy, classified, session);
    return conclude(req, policy, classified, session, false);
  }

  async function decideLater(req: IncomingMessage, policy: AppPolicy, classified: Classified, pending: SessionFacts | Promise<SessionFacts>): Promise<Decided> {
    const session = await pending;
    const hasCrowdCookie = classified.match.kind === 'logout' && (await crowdCookies(req)).length > 0;
    return conclude(req, policy, classified, session, hasCrowdCookie);
  }

  function conclude(req: IncomingMessage, policy: AppPolicy, classified: Classified, session: SessionFacts, hasCrowdCookie: boolean): Decided {
    const { match } = classified;
    // Whether this is a browser's navigation only matters without a valid session (redirect or refuse): a signed-in
    // user's request skips reading the headers that tell.
    const navigation = classified.mayNavigate && session.state !== 'valid' && isBrowserNavigation(requestKindFacts(req.method, req.headers));
    const decision = policy.decide({
      match,
      navigation,
      hasCredentials: classified.hasCredentials,
      emergencyAllowed: classified.emergencyAllowed,
      session: session.state,
      signedOut: session.state === 'none' && navigation && findCookie(req.headers.cookie, SIGNED_OUT_MARKER) !== undefined,
      hasCrowdCookie,
    });
    return { match, session, decision };
  }

  async function crowdCookies(req: IncomingMessage): Promise<string[]> {
    return findCookieValues(req.headers.cookie, (await deps.cookieConfig()).name);
  }

  function observe(req: IncomingMessage, res: ServerResponse, ctx: GateContext, app: AppConfig, outcome: { match: PathMatch; decision: Decision } | { error: unknown }): void {
    const fields = { reqId: ctx.reqId, host: ctx.host, app: app.name, mode: 'observe', user: ctx.user };
    if ('error' in outcome) {
      const code = isSsoProxyError(outcome.error) ? outcome.error.code : 'ERR_INTERNAL';
      logger.warn({ ...fields, decision: 'error', code }, `observe mode: would answer with an error (${code}); forwarded untouched`);
    } else {
      const { decision, match } = outcome;
      logger.info({ ...fields, decision: decision.kind, reason: decision.why, rule: match.source }, `observe mode: ${OBSERVED[decision.kind]} (${decision.why}, ${match.source})`);
    }
    ctx.decision = 'forward';
    ctx.forwardedAtMs = performance.now();
    deps.forwarder.forward(req, res, forwardContext(ctx, app, undefined));
  }

  function loginReturnUrl(req: IncomingMessage, ctx: GateContext, app: AppConfig, match: PathMatch): string {
    const host = ctx.host as string;
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

  function signInHref(ctx: GateContext, app: AppConfig): string {
    return signInLink(deps.pathPrefix, deps.returnUrls.absolute(ctx.host as string, app.startPath));
  }

  /** Acts on the decision; synchronous unless the answer needs Crowd's cookie configuration or a new login. */
  function act(req: IncomingMessage, res: ServerResponse, ctx: GateContext, app: AppConfig, decided: Decided): void | Promise<void> {
    const { match, decision } = decided;
    ctx.decision = METRIC_DECISION[decision.kind];
    switch (decision.kind) {
      case 'emergency':
        logger.warn(
          { reqId: ctx.reqId, host: ctx.host, app: app.name, decision: 'emergency', reason: 'emergency_access', clientIp: ctx.clientIp, path: ctx.path, method: req.method },
          `emergency access: ${req.method ?? 'GET'} ${ctx.path} forwarded without SSO for ${ctx.clientIp} (apps[].emergencyAccess of "${app.name}")`,
        );
        return forward(req, res, ctx, app, decided);
      case 'forward':
      case 'forward-anonymous':
        return forward(req, res, ctx, app, decided);
      case 'login':
        return startLogin(req, res, ctx, app, match, decision);
      case 'signed-out':
        sendPlain(res, signedOutResponse({ requestId: ctx.reqId, redirectUrl: undefined, signInHref: signInHref(ctx, app), message: SIGNED_OUT_MESSAGES.recently }));
        return;
      case 'deny-401': {
        // git, Maven, curl and credential helpers send credentials only when challenged, as the app itself would.
        const challenge: Record<string, string> = isFromBrowser(requestKindFacts(req.method, req.headers)) ? {} : { 'www-authenticate': `Basic realm="${app.basicRealm ?? app.name}"` };
        sendJson(res, 401, { error: 'ERR_UNAUTHENTICATED', reason: decision.why, message: UNAUTHENTICATED_MESSAGES[decision.why], requestId: ctx.reqId }, challenge);
        return;
      }
      case 'deny-403':
        throw new AccessDeniedError(
          `emergency access to ${ctx.path} of app "${app.name}" refused for ${ctx.clientIp}: not in apps[].emergencyAccess.allowFrom, or the secret header is missing or wrong`,
          { detail: 'emergency_access_refused', publicMessage: 'Signing in without single sign-on is not available from here.' },
        );
      case 'logout': {
        // The proxy ends the Crowd session itself; the app ends its own (JSESSIONID) without seeing an unchecked token.
        const name = (deps.cachedCookieConfig() as CrowdCookieConfig).name;
        ctx.forwardedAtMs = performance.now();
        appLogout.handle(req, res, forwardContext(ctx, app, withoutCrowdCookie(req.headers.cookie, name)), { reqId: ctx.reqId, user: ctx.user, signInHref: signInHref(ctx, app) });
        return;
      }
    }
  }

  async function observeRequest(req: IncomingMessage, res: ServerResponse, ctx: GateContext, app: AppConfig, policy: AppPolicy): Promise<void> {
    let outcome: { match: PathMatch; decision: Decision } | { error: unknown };
    try {
      outcome = await decide(req, ctx, policy, true);
    } catch (error) {
      outcome = { error };
    }
    observe(req, res, ctx, app, outcome);
  }

  /**
   * A GET navigation gets the login-start page (it keeps the URL's fragment, which only the browser knows); other
   * navigations (HEAD, a form post) are redirected to the IdP at once.
   */
  async function startLogin(req: IncomingMessage, res: ServerResponse, ctx: GateContext, app: AppConfig, match: PathMatch, decision: Decision): Promise<void> {
    const host = ctx.host as string;
    if (decision.why !== 'no-session') {
      logger.info({ reqId: ctx.reqId, host, app: app.name, decision: 'login', reason: decision.why, user: ctx.user }, `signing in again: ${decision.why}`);
    }
    const returnUrl = loginReturnUrl(req, ctx, app, match);
    if (req.method === 'GET') {
      sendLoginStartPage(res, signInLink(deps.pathPrefix, returnUrl, { reauth: decision.forceAuthn }));
      return;
    }
    const refusal = deps.loginStartBudget.admit(ctx.clientIp);
    if (refusal !== undefined) {
      refuseLoginStart(res, refusal, { reqId: ctx.reqId, host, app: app.name }, logger);
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
    handle(req: IncomingMessage, res: ServerResponse, ctx: GateContext, app: AppConfig): void | Promise<void> {
      const policy = policyOf(app);
      if (policy.observe) return observeRequest(req, res, ctx, app, policy);
      const decided = decide(req, ctx, policy, true);
      if (decided instanceof Promise) return decided.then((later) => act(req, res, ctx, app, later));
      return act(req, res, ctx, app, decided);
    },

    /**
     * Forward-auth mode (forward-auth.ts): the same decision as `handle`, delivered as a verdict for the edge proxy.
     * The app's logout and login paths belong to the standalone path (the generated edge configs route them to the
     * product), which rewrites the app's answer; here a logout only loses its Crowd cookie.
     */
    async authorize(req: IncomingMessage, ctx: GateContext, app: AppConfig): Promise<ForwardAuthVerdict> {
      const policy = policyOf(app);
      if (policy.observe) {
        ctx.decision = 'forward';
        return { kind: 'allow', cookieHeader: req.headers.cookie ?? '', user: undefined };
      }
      const decided = await decide(req, ctx, policy, true);
      const { decision, match } = decided;
      ctx.decision = METRIC_DECISION[decision.kind];
      switch (decision.kind) {
        case 'emergency':
        case 'forward':
        case 'forward-anonymous': {
          if (decision.kind === 'emergency') {
            logger.warn(
              { reqId: ctx.reqId, host: ctx.host, app: app.name, decision: 'emergency', reason: 'emergency_access', clientIp: ctx.clientIp, path: ctx.path, method: req.method },
              `emergency access: ${req.method ?? 'GET'} ${ctx.path} allowed without SSO for ${ctx.clientIp} (apps[].emergencyAccess of "${app.name}")`,
            );
          }
          const forwarding = await forwardingFor(req, ctx, app, decided);
          return { kind: 'allow', cookieHeader: forwarding.cookieHeader ?? req.headers.cookie ?? '', user: decision.kind === 'forward' ? ctx.user : undefined };
        }
        case 'logout': {
          const name = (await deps.cookieConfig()).name;
          return { kind: 'allow', cookieHeader: withoutCrowdCookie(req.headers.cookie, name) ?? req.headers.cookie ?? '', user: undefined };
        }
        case 'login':
          if (decision.why !== 'no-session') {
            logger.info({ reqId: ctx.reqId, host: ctx.host, app: app.name, decision: 'login', reason: decision.why, user: ctx.user }, `signing in again: ${decision.why}`);
          }
          return { kind: 'login', signInHref: signInLink(deps.pathPrefix, loginReturnUrl(req, ctx, app, match), { reauth: decision.forceAuthn }) };
        case 'signed-out':
          return { kind: 'login', signInHref: signInHref(ctx, app) };
        case 'deny-401':
          return { kind: 'deny', status: 401, challenge: isFromBrowser(requestKindFacts(req.method, req.headers)) ? undefined : `Basic realm="${app.basicRealm ?? app.name}"` };
        case 'deny-403':
          logger.warn({ reqId: ctx.reqId, host: ctx.host, app: app.name, reason: 'emergency_access_refused', clientIp: ctx.clientIp }, `emergency access to ${ctx.path} of app "${app.name}" refused for ${ctx.clientIp}`);
          return { kind: 'deny', status: 403, challenge: undefined };
      }
    },

    /** WebSocket upgrades are never redirected: the forwarding context, or the status to refuse with. */
    async upgrade(req: IncomingMessage, ctx: GateContext, app: AppConfig): Promise<ForwardContext | 401 | 403> {
      const policy = policyOf(app);
      let outcome: Decided;
      try {
        outcome = await decide(req, ctx, policy, false);
      } catch (error) {
        if (!policy.observe) throw error;
        return forwardContext(ctx, app, undefined);
      }
      if (policy.observe) return forwardContext(ctx, app, undefined);
      switch (outcome.decision.kind) {
        case 'forward':
        case 'forward-anonymous':
        case 'emergency':
          return forwardingFor(req, ctx, app, outcome);
        case 'deny-403':
          return 403;
        default:
          return 401;
      }
    },
  };
}

export type AppGate = ReturnType<typeof createAppGate>;

/** A header's value (the first, when repeated). */
function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The Cookie header to send instead, when it mentions the Crowd cookie in any form (else undefined: as it is). */
function withoutCrowdCookie(header: string | undefined, name: string): string | undefined {
  return mentionsCookie(header, name) ? removeCookie(header, name) : undefined;
}
