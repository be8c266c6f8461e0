/**
 * Whether a session Crowd says is valid is still good enough for this app, judged from what the proxy recorded
 * at the SAML login: the IdP's SessionNotOnOrAfter, saml.maxSessionAgeSeconds, and the app's required
 * authentication context. Pure.
 */

/** What the proxy recorded about the SAML login behind a Crowd session (a subset of the session record). */
export interface SessionFacts {
  readonly createdAtMs: number;
  readonly sessionNotOnOrAfterMs: number | undefined;
  readonly authnContextClassRef: string | undefined;
}

export interface SessionLimits {
  readonly maxSessionAgeMs: number | undefined;
  /** saml.requireSsoSession: a Crowd session the proxy has no login record of is `unrecorded`. */
  readonly requireRecord: boolean;
  /** The app's accepted AuthnContextClassRefs, or undefined when it requires none. */
  readonly requiredClassRefs: readonly string[] | undefined;
}

/**
 * `valid`; `expired`: the IdP's SessionNotOnOrAfter passed; `too-old`: older than saml.maxSessionAgeSeconds;
 * `weak`: made with an authentication context the app does not accept (a session without a record, e.g. one an
 * app created from its own login form, has no known context and is `weak` for such an app); `unrecorded`: with
 * `requireRecord`, a session the proxy did not create (an app made it from a password: no IdP, no MFA).
 */
export type SessionStanding = 'valid' | 'expired' | 'too-old' | 'weak' | 'unrecorded';

export function judgeSession(facts: SessionFacts | undefined, nowMs: number, limits: SessionLimits): SessionStanding {
  if (facts !== undefined) {
    if (facts.sessionNotOnOrAfterMs !== undefined && nowMs >= facts.sessionNotOnOrAfterMs) return 'expired';
    if (limits.maxSessionAgeMs !== undefined && nowMs - facts.createdAtMs >= limits.maxSessionAgeMs) return 'too-old';
  } else if (limits.requireRecord) {
    return 'unrecorded';
  }
  const required = limits.requiredClassRefs;
  if (required !== undefined) {
    const classRef = facts?.authnContextClassRef;
    if (classRef === undefined || !required.includes(classRef)) return 'weak';
  }
  return 'valid';
}
