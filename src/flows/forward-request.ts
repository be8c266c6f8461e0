/**
 * The forward use case: a request to an app, and what may reach the app with it. Gathers the facts the app's policy
 * needs (path kind, the request's own credentials, emergency network and secret, the Crowd session and how it stands),
 * asking Crowd only when the decision depends on it; returns the policy's Decision; and, for a decision that
 * forwards, the exact Cookie header the app gets. How a decision is delivered (a forward, an upgrade, a forward-auth
 * verdict, a page) is http/'s business (app-gate.ts), the same for every delivery.
 *
 * The hot path (a signed-in user's next request, every answer cached) returns without a promise; anything that needs
 * Crowd, the session store or the group cache returns one. Model: oauth2-proxy's session-loading middleware.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { AppConfig } from '../config/runtime-config.js';
import { hasAppCredentials } from '../policy/app-credentials.js';
import type { AppPolicy, Decision, PathMatch, SessionState } from '../policy/app-policy.js';
import { findCookie, findCookieValues, isOnlyCookie, mentionsCookie, removeCookie, rewriteCookieHeader } from '../policy/cookie-header.js';
import { isBrowserNavigation, requestKindFacts } from '../policy/request-kind.js';
import { SIGNED_OUT_MARKER } from '../policy/signed-out-marker.js';
import type { Authenticated, Authenticator } from './authenticate.js';
import type { AccessEnforcer } from './enforce-access-restriction.js';
import type { SessionJudge } from './judge-session.js';
import type { CrowdCookieConfig } from './ports.js';

/** What the flow needs of an app, built once at startup (the router hands it over with the request). */
export interface ForwardRequestSite {
  readonly app: AppConfig;
  readonly policy: AppPolicy;
  /**
   * apps[].crowdApplication: validates a session as the app does (throws AccessDeniedError or
   * AppRefusedSessionError); undefined when the app names none.
   */
  readonly checkAsApp: ((user: string, token: string, clientIp: string) => Promise<void>) | undefined;
}

/** The parts of the request's context the flow reads, and those it fills in (the user; what the forward sends). */
export interface ForwardRequestContext {
  readonly path: string;
  readonly query: string;
  readonly clientIp: string;
  user: string | undefined;
  /** A string replaces the request's Cookie header upstream (`''`: none); undefined: as it came. */
  cookieHeader: string | undefined;
  /** A cookie name whose Set-Cookie in the app's answer is dropped (a Crowd session the app made from a password). */
  dropSetCookie: string | undefined;
  /** The vetted Crowd token the forward carries. */
  sessionToken: string | undefined;
}

/** The request as the flow reads it. */
export interface RequestHead {
  readonly method?: string | undefined;
  readonly headers: IncomingHttpHeaders;
}

/** What the flow learnt about the Crowd session. */
export interface SessionLookup {
  readonly cookie: CrowdCookieConfig | undefined;
  readonly authenticated: Authenticated | undefined;
  readonly state: SessionState;
}

export interface ForwardDecision {
  readonly match: PathMatch;
  readonly session: SessionLookup;
  readonly decision: Decision;
}

export interface ForwardRequestDeps {
  readonly cookieConfig: () => Promise<CrowdCookieConfig>;
  /** The cookie configuration while cached, else undefined (the hot path asks this first). */
  readonly cachedCookieConfig: () => CrowdCookieConfig | undefined;
  readonly authenticator: Authenticator;
  /** apps[].access (who may use the app), checked for every valid session. */
  readonly accessEnforcer: Pick<AccessEnforcer, 'atGate'>;
  readonly sessionJudge: SessionJudge;
}

/** The request facts the policy decides on, besides the session. */
interface Classified {
  readonly match: PathMatch;
  /** False for WebSocket upgrades, which are never redirected. */
  readonly mayNavigate: boolean;
  readonly emergencyAllowed: boolean;
  readonly hasCredentials: boolean;
}

const NO_SESSION: SessionLookup = Object.freeze({ cookie: undefined, authenticated: undefined, state: 'none' });

export function createForwardRequestFlow(deps: ForwardRequestDeps) {
  /**
   * When cached answers settle the session (cookie configuration, token validation, session record), the facts
   * come back at once, without a promise; otherwise from `sessionFromCrowd`.
   */
  function sessionFacts(req: RequestHead, ctx: ForwardRequestContext, site: ForwardRequestSite): SessionLookup | Promise<SessionLookup> {
    const cookie = deps.cachedCookieConfig();
    // apps[].access asks the store and Crowd's groups, apps[].crowdApplication its own cache: not settled here.
    if (cookie === undefined || site.app.access !== undefined || site.checkAsApp !== undefined) return sessionFromCrowd(req, ctx, site);
    const candidates = findCookieValues(req.headers.cookie, cookie.name);
    const known = deps.authenticator.fromCache(candidates, ctx.clientIp);
    if (known === null) return { cookie, authenticated: undefined, state: 'none' };
    if (known === undefined || deps.sessionJudge.cachedValid(known.token, site.policy.sessionLimits) === undefined) return sessionFromCrowd(req, ctx, site);
    ctx.user = known.session.username;
    return { cookie, authenticated: known, state: 'valid' };
  }

  async function sessionFromCrowd(req: RequestHead, ctx: ForwardRequestContext, site: ForwardRequestSite): Promise<SessionLookup> {
    const cookie = await deps.cookieConfig();
    const candidates = findCookieValues(req.headers.cookie, cookie.name);
    const authenticated = await deps.authenticator.authenticate(candidates, ctx.clientIp);
    if (authenticated === undefined) return { cookie, authenticated, state: 'none' };
    const user = authenticated.session.username;
    ctx.user = user;
    const state = await deps.sessionJudge.judge(authenticated.token, site.policy.sessionLimits);
    if (state === 'valid' || state === 'unrecorded') {
      // A cookie made by a login through another app must not open a restricted one.
      if (site.app.access !== undefined) await deps.accessEnforcer.atGate(site.app, user, authenticated.token);
      if (site.checkAsApp !== undefined) await site.checkAsApp(user, authenticated.token, ctx.clientIp);
    }
    return { cookie, authenticated, state };
  }

  /** The match (emergency settled), whether the request has its own credentials, and whether emergency access holds. */
  function classify(req: RequestHead, ctx: ForwardRequestContext, policy: AppPolicy, mayNavigate: boolean): Classified {
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

  async function decideLater(req: RequestHead, policy: AppPolicy, classified: Classified, pending: SessionLookup | Promise<SessionLookup>): Promise<ForwardDecision> {
    const session = await pending;
    const hasCrowdCookie = classified.match.kind === 'logout' && (await crowdCookies(req)).length > 0;
    return conclude(req, policy, classified, session, hasCrowdCookie);
  }

  function conclude(req: RequestHead, policy: AppPolicy, classified: Classified, session: SessionLookup, hasCrowdCookie: boolean): ForwardDecision {
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

  async function crowdCookies(req: RequestHead): Promise<string[]> {
    return findCookieValues(req.headers.cookie, (await deps.cookieConfig()).name);
  }

  /**
   * What reaches the app with a forwarding decision (forward, forward-anonymous, emergency, logout), the same for
   * requests, WebSocket upgrades and forward-auth verdicts: with a validated session, exactly one Crowd cookie, the
   * valid one (whatever else the client sent: empties, duplicates, other cases, quoted or comma-joined copies);
   * otherwise no Crowd cookie at all (an app's logout included: the proxy ends the Crowd session itself). The answer
   * to a forward on the client's own credentials may not hand the browser a Crowd session the app made from them
   * (apps[].passCrowdCookieFromCredentials).
   */
  function prepareNamed(req: RequestHead, ctx: ForwardRequestContext, app: AppConfig, decided: ForwardDecision, name: string): void {
    const header = req.headers.cookie;
    if (decided.decision.kind === 'forward') {
      const token = decided.session.authenticated?.token as string;
      ctx.cookieHeader = isOnlyCookie(header, name, token) ? undefined : rewriteCookieHeader(header, name, token);
      ctx.sessionToken = token;
      return;
    }
    ctx.cookieHeader = mentionsCookie(header, name) ? removeCookie(header, name) : undefined;
    if (decided.decision.why === 'credentials' && !app.passCrowdCookieFromCredentials) ctx.dropSetCookie = name;
  }

  return {
    /** The policy's decision: at once when the session facts came from the caches, else once they are known. */
    decide(req: RequestHead, ctx: ForwardRequestContext, site: ForwardRequestSite, mayNavigate: boolean): ForwardDecision | Promise<ForwardDecision> {
      const { policy } = site;
      const classified = classify(req, ctx, policy, mayNavigate);
      const session = policy.needsSession(classified.match, classified.hasCredentials) ? sessionFacts(req, ctx, site) : NO_SESSION;
      // An app's logout also looks for a Crowd cookie, which may need the cookie configuration from Crowd.
      if (session instanceof Promise || classified.match.kind === 'logout') return decideLater(req, policy, classified, session);
      return conclude(req, policy, classified, session, false);
    },

    /** Fills in `ctx` for a forwarding decision; at once when Crowd's cookie name is known (always, once the proxy has asked Crowd). */
    prepareForward(req: RequestHead, ctx: ForwardRequestContext, app: AppConfig, decided: ForwardDecision): void | Promise<void> {
      const name = decided.session.cookie?.name ?? deps.cachedCookieConfig()?.name;
      if (name === undefined) return deps.cookieConfig().then((cookie) => prepareNamed(req, ctx, app, decided, cookie.name));
      prepareNamed(req, ctx, app, decided, name);
    },

    /** The request's Crowd cookie values (an app's logout ends each one's session). */
    crowdCookies,
  };
}

export type ForwardRequestFlow = ReturnType<typeof createForwardRequestFlow>;

/** A header's value (the first, when repeated). */
function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
