/**
 * One app's access policy, compiled at startup: which kind of path a request targets (logout, emergency,
 * login page, or the first matching path rule) and, from the facts the HTTP layer gathered, the Decision.
 * Pure: no I/O; decisions are shared frozen objects, so deciding allocates nothing.
 */
import type { PathAction, AppConfig } from '../config/runtime-config.js';
import { compilePathRules, type AccessRules } from './path-rules.js';
import { isAmbiguousPath } from './ambiguous-path.js';
import { createEmergencyAccess, type EmergencyAccess } from './emergency-access.js';
import type { SessionLimits, SessionStanding } from './session-standing.js';

export type PathKind = PathAction | 'logout' | 'login-page' | 'emergency-page' | 'emergency-form';

export interface PathMatch {
  readonly kind: PathKind;
  /** For logs: the rule (`apps[0].rules[1]`, `preset jira`, `default`) or the key (`apps[].logoutPaths`). */
  readonly source: string;
}

/** `none`: no valid Crowd session; otherwise how the valid one stands for this app. */
export type SessionState = 'none' | SessionStanding;

export interface RequestFacts {
  readonly match: PathMatch;
  /** A top-level browser navigation (may be redirected to the IdP); XHR, fetch, API and non-GET are not. */
  readonly navigation: boolean;
  /** Authorization Basic/Bearer/OAuth. */
  readonly hasCredentials: boolean;
  /** Only looked at for emergency paths: allowed network (and secret). */
  readonly emergencyAllowed: boolean;
  readonly session: SessionState;
  /**
   * The browser logged out a moment ago (marker cookie) and lands on the app's own login page, where apps send it after
   * their logout: do not send it straight back to the IdP. Any other navigation signs in as usual.
   */
  readonly signedOut: boolean;
  /** The request carries a Crowd cookie (a logout has something to end). */
  readonly hasCrowdCookie: boolean;
}

export type DecisionKind =
  | 'forward'
  | 'forward-anonymous'
  | 'emergency'
  | 'login'
  | 'signed-out'
  | 'deny-401'
  | 'deny-403'
  | 'logout';

export type DecisionReason =
  | 'session'
  | 'public'
  | 'credentials'
  | 'optional'
  | 'emergency'
  | 'emergency-refused'
  | 'no-session'
  | 'session-ended'
  | 'session-too-old'
  | 'step-up'
  | 'not-from-sso'
  | 'after-logout'
  | 'logout'
  | 'logout-without-session';

export interface Decision {
  readonly kind: DecisionKind;
  readonly why: DecisionReason;
  /** For `login`: ask the IdP to authenticate again (saml.forceAuthnOnReauth after an ended session). */
  readonly forceAuthn: boolean;
}

export interface AppPolicy {
  readonly app: AppConfig;
  /** apps[].mode (or the top-level mode) is `observe`. */
  readonly observe: boolean;
  readonly emergency: EmergencyAccess | undefined;
  readonly sessionLimits: SessionLimits;
  /** `path` without the query; `query` without `?`. */
  match(method: string, path: string, query: string): PathMatch;
  /** An emergency login-form POST that is not allowed is an ordinary request: its rule match. */
  settle(match: PathMatch, method: string, path: string, emergencyAllowed: boolean): PathMatch;
  /** Whether the decision depends on the Crowd session (the gate asks Crowd only then). */
  needsSession(match: PathMatch, hasCredentials: boolean): boolean;
  decide(facts: RequestFacts): Decision;
}

export interface AppPolicyOptions {
  readonly maxSessionAgeMs: number | undefined;
  /** saml.requireSsoSession */
  readonly requireSsoSession: boolean;
  readonly forceAuthnOnReauth: boolean;
  /** allowFrom of apps[].emergencyAccess, compiled (required when the app has emergency access). */
  readonly isEmergencyNetwork?: (clientIp: string) => boolean;
}

const decision = (kind: DecisionKind, why: DecisionReason, forceAuthn = false): Decision => Object.freeze({ kind, why, forceAuthn });
const pathMatch = (kind: PathKind, source: string): PathMatch => Object.freeze({ kind, source });

const FORWARD = decision('forward', 'session');
// Without a session the proxy validated and judged, the app gets no Crowd cookie at all: a refused or unchecked one
// would be read by the app's own Crowd authenticator (before the client's Basic credentials, too).
const PUBLIC = decision('forward-anonymous', 'public');
const CREDENTIALS = decision('forward-anonymous', 'credentials');
const ANONYMOUS = decision('forward-anonymous', 'optional');
const EMERGENCY = decision('emergency', 'emergency');
const EMERGENCY_REFUSED = decision('deny-403', 'emergency-refused');
const SIGNED_OUT = decision('signed-out', 'after-logout');
const LOGOUT = decision('logout', 'logout');
const LOGOUT_WITHOUT_SESSION = decision('forward-anonymous', 'logout-without-session');

const REASON: Readonly<Record<SessionState, DecisionReason>> = {
  none: 'no-session',
  valid: 'session',
  expired: 'session-ended',
  'too-old': 'session-too-old',
  weak: 'step-up',
  unrecorded: 'not-from-sso',
};
const DENY: Readonly<Record<SessionState, Decision>> = {
  none: decision('deny-401', 'no-session'),
  valid: FORWARD,
  expired: decision('deny-401', 'session-ended'),
  'too-old': decision('deny-401', 'session-too-old'),
  weak: decision('deny-401', 'step-up'),
  // saml.requireSsoSession only turns browser navigations to the IdP; scripts keep the session the app gave them.
  unrecorded: FORWARD,
};

const AMBIGUOUS = pathMatch('required', 'ambiguous path');
const LOGOUT_PATH = pathMatch('logout', 'apps[].logoutPaths');
const LOGIN_PAGE = pathMatch('login-page', 'apps[].loginPaths');
const LOGIN_FORM = pathMatch('required', 'preset login form');
const EMERGENCY_PAGE = pathMatch('emergency-page', 'apps[].emergencyAccess');
const EMERGENCY_FORM = pathMatch('emergency-form', 'apps[].emergencyAccess');

export function createAppPolicy(app: AppConfig, options: AppPolicyOptions): AppPolicy {
  const rules: AccessRules = compilePathRules(app.rules);
  const logoutPaths = new Set(app.logoutPaths);
  const loginPaths = new Set(app.loginPaths);
  const loginFormPaths = new Set(app.loginFormPaths);
  const emergency =
    app.emergencyAccess === undefined ? undefined : createEmergencyAccess(app.emergencyAccess, options.isEmergencyNetwork ?? (() => false));
  const login = (state: SessionState): Decision => decision('login', REASON[state], options.forceAuthnOnReauth && (state === 'expired' || state === 'too-old'));
  const LOGIN: Readonly<Record<SessionState, Decision>> = {
    none: login('none'),
    valid: FORWARD,
    expired: login('expired'),
    'too-old': login('too-old'),
    weak: login('weak'),
    unrecorded: login('unrecorded'),
  };

  /** The path rules, except that a password login posted to the app (which would make a Crowd session without the IdP) is never a credentials or public path. */
  function ruleMatch(method: string, path: string): PathMatch {
    if (method !== 'GET' && method !== 'HEAD' && loginFormPaths.has(path)) return LOGIN_FORM;
    return rules.match(method, path);
  }

  /** A session good for this request: valid, or one the proxy did not create for a request that is not a browser navigation. */
  const isSignedIn = (facts: RequestFacts): boolean => facts.session === 'valid' || (facts.session === 'unrecorded' && !facts.navigation);

  function required(facts: RequestFacts): Decision {
    if (isSignedIn(facts)) return FORWARD;
    if (!facts.navigation) return DENY[facts.session];
    if (facts.session === 'none' && facts.signedOut && facts.match.kind === 'login-page') return SIGNED_OUT;
    return LOGIN[facts.session];
  }

  return {
    app,
    observe: app.mode === 'observe',
    emergency,
    sessionLimits: { maxSessionAgeMs: options.maxSessionAgeMs, requireRecord: options.requireSsoSession, requiredClassRefs: app.requiredAuthnContext?.classRefs },

    match(method, path, query) {
      if (isAmbiguousPath(path)) return AMBIGUOUS;
      if (logoutPaths.has(path)) return LOGOUT_PATH;
      if (emergency !== undefined) {
        if (emergency.isEmergencyPage(method, path, query)) return EMERGENCY_PAGE;
        if (emergency.isLoginForm(method, path)) return EMERGENCY_FORM;
      }
      if ((method === 'GET' || method === 'HEAD') && loginPaths.has(path)) return LOGIN_PAGE;
      return ruleMatch(method, path);
    },

    settle(match, method, path, emergencyAllowed) {
      if (match.kind !== 'emergency-form' || emergencyAllowed) return match;
      return ruleMatch(method, path);
    },

    needsSession(match, hasCredentials) {
      switch (match.kind) {
        case 'public':
        case 'logout':
        case 'emergency-page':
        case 'emergency-form':
          return false;
        case 'credentials':
          return !hasCredentials;
        default:
          return true;
      }
    },

    decide(facts) {
      switch (facts.match.kind) {
        case 'public':
          return PUBLIC;
        case 'logout':
          return facts.hasCrowdCookie ? LOGOUT : LOGOUT_WITHOUT_SESSION;
        case 'emergency-page':
          return facts.emergencyAllowed ? EMERGENCY : EMERGENCY_REFUSED;
        case 'emergency-form':
          return EMERGENCY;
        case 'credentials':
          return facts.hasCredentials ? CREDENTIALS : required(facts);
        case 'optional':
          return isSignedIn(facts) ? FORWARD : ANONYMOUS;
        case 'login-page':
        case 'required':
          return required(facts);
      }
    },
  };
}
