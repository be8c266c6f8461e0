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
  /** The app's accepted AuthnContextClassRefs, or undefined when it requires none. */
  readonly requiredClassRefs: readonly string[] | undefined;
}

/**
 * `valid`; `expired`: the IdP's SessionNotOnOrAfter passed; `too-old`: older than saml.maxSessionAgeSeconds;
 * `weak`: made with an authentication context the app does not accept (a session without a record, e.g. one an
 * app created from its own login form, has no known context and is `weak` for such an app).
 */
export type SessionStanding = 'valid' | 'expired' | 'too-old' | 'weak';

export function judgeSession(facts: SessionFacts | undefined, nowMs: number, limits: SessionLimits): SessionStanding {
  if (facts !== undefined) {
    if (facts.sessionNotOnOrAfterMs !== undefined && nowMs >= facts.sessionNotOnOrAfterMs) return 'expired';
    if (limits.maxSessionAgeMs !== undefined && nowMs - facts.createdAtMs >= limits.maxSessionAgeMs) return 'too-old';
  }
  const required = limits.requiredClassRefs;
  if (required !== undefined) {
    const classRef = facts?.authnContextClassRef;
    if (classRef === undefined || !required.includes(classRef)) return 'weak';
  }
  return 'valid';
}
