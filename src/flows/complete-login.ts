import { timingSafeEqual } from 'node:crypto';
import { RelayStateError, SamlConditionsError, SamlReplayError, StoreUnavailableError } from '../errors.js';
import { serializeCrowdCookie, serializeCrowdCookieClears } from '../policy/crowd-cookie.js';
import type { ReturnUrlPolicy } from '../policy/return-url.js';
import type { AccessEnforcer, RestrictedApp } from './enforce-access-restriction.js';
import type { IdentityEstablisher } from './establish-identity.js';
import type { LoginAttempt } from './login-attempt.js';
import { hashBindingNonce } from './start-login.js';
import type { CrowdPort, FactorSet, ReplayStorePort, SamlPort, SamlProfile, SessionRecord, SessionStorePort, StateSealerPort } from './ports.js';

export interface LoginCompleterDeps {
  readonly saml: Pick<SamlPort, 'validateResponse'>;
  readonly sealer: Pick<StateSealerPort, 'open'>;
  readonly replay: ReplayStorePort;
  readonly sessions: SessionStorePort;
  readonly crowd: Pick<CrowdPort, 'createSession' | 'getCookieConfig'>;
  /** IdP identity → Crowd user: strategies, just-in-time provisioning, group sync (identity.*). */
  readonly identity: Pick<IdentityEstablisher, 'establish'>;
  /** apps[].access of the app the login goes through. */
  readonly access: Pick<AccessEnforcer, 'atLogin'>;
  readonly returnUrls: ReturnUrlPolicy;
  readonly acsUrl: (host: string) => string;
  readonly allowIdpInitiated: boolean;
  readonly validationFactors: (clientIp: string) => FactorSet;
  readonly sessionDurationSeconds: number | undefined;
  /** saml.maxSessionAgeSeconds: the record is kept past it. */
  readonly maxSessionAgeMs?: number | undefined;
  /** The login-binding cookie on `host`: its name, and the Set-Cookie that clears it. */
  readonly bindingCookie: { readonly name: (id: string) => string; readonly clear: (host: string, id: string) => string };
  /** `<pathPrefix>/login?return=…` on `host`: where a refused login can start again. */
  readonly signInUrl: (host: string, returnUrl: string) => string;
  /** Tells whether a RelayState value has the shape of a sealed state (vs. an IdP-initiated RelayState URL). */
  readonly looksSealed: (relayState: string) => boolean;
  /** saml.clockSkewMs: an assertion is accepted this long after its NotOnOrAfter, so it is remembered as used that long too. */
  readonly clockSkewMs: number;
  readonly now?: () => number;
}

/**
 * How long a login's record outlives the limits it carries (SessionNotOnOrAfter, saml.maxSessionAgeSeconds), or the
 * login itself when it carries none. The session judge must find the record after a limit passed, or it would take the
 * ended session for one the proxy never saw (valid unless saml.requireSsoSession); and an IdP's LogoutRequest must
 * find it for as long as Crowd may keep the session alive by use. Bounded: the stores drop the oldest first.
 */
const SESSION_RECORD_KEEP_MS = 7 * 24 * 3_600_000;

export interface LoginApp extends RestrictedApp {
  readonly startPath: string;
  readonly requiredAuthnContext: { readonly classRefs: readonly string[] } | undefined;
}

export interface CompleteLoginInput {
  readonly host: string;
  readonly samlResponse: string;
  readonly relayState: string | undefined;
  /** The values of the request's cookies of this name (the login-binding cookie). */
  readonly presentedCookies: (name: string) => readonly string[];
  readonly clientIp: string;
  /**
   * The app of the ACS host: its apps[].access, where an unsolicited (IdP-initiated) login lands (its start page),
   * and the AuthnContextClassRef the assertion must carry (apps[].requiredAuthnContext).
   */
  readonly app: LoginApp;
  /** Filled in as the login proceeds, for the audit event (also when it fails). */
  readonly attempt: LoginAttempt;
}

export interface CompletedLogin {
  readonly redirectUrl: string;
  readonly setCookies: readonly string[];
  readonly username: string;
  readonly token: string;
  readonly profile: SamlProfile;
  readonly unsolicited: boolean;
  /** False when the session store did not answer: the login stands, but an IdP-initiated logout will not find it. */
  readonly sessionRecorded: boolean;
}

/**
 * Degraded mode: when the store does not answer, the user is signed in all the same; the caller logs that an
 * IdP-initiated logout will miss this session.
 */
async function recordSession(sessions: SessionStorePort, record: SessionRecord): Promise<boolean> {
  try {
    await sessions.record(record);
    return true;
  } catch (error) {
    if (error instanceof StoreUnavailableError) return false;
    throw error;
  }
}

interface Expectation {
  readonly requestId: string | null;
  readonly returnUrl: string;
  /** The Set-Cookie that clears the login-binding cookie, for a solicited login. */
  readonly clearBinding: string | undefined;
}

const NOT_THIS_BROWSER =
  'This sign-in was not started in this browser, or the browser did not keep the cookie it got when the sign-in started. Please sign in again.';

/**
 * The ACS use case: RelayState → strict SAML validation → single use → Crowd user (identity step) → app access →
 * Crowd session → cookie.
 * Every refusal is a typed error; the HTTP layer turns it into a page and one log line.
 */
export function createLoginCompleter(deps: LoginCompleterDeps) {
  async function expectation(input: CompleteLoginInput): Promise<Expectation> {
    const relayState = input.relayState ?? '';
    if (relayState !== '' && deps.looksSealed(relayState)) {
      const state = await deps.sealer.open(relayState);
      // The state was sealed by us with a validated URL; check again in case the host list changed since.
      const returnUrl = deps.returnUrls.resolve(state.returnUrl, input.host);
      if (returnUrl === undefined) {
        throw new RelayStateError(`the return URL in the login state is no longer on a configured app host (apps[].hosts): ${state.returnUrl}`, {
          detail: 'return_url_not_allowed',
        });
      }
      const binding = state.browserBinding;
      if (binding === undefined) {
        throw new RelayStateError('the login state carries no browser binding (a login started before an upgrade, or not by this proxy)', {
          detail: 'browser_binding_missing',
          publicMessage: NOT_THIS_BROWSER,
          retryUrl: deps.signInUrl(input.host, returnUrl),
        });
      }
      const presented = input.presentedCookies(deps.bindingCookie.name(binding.id));
      if (!presented.some((nonce) => sameHash(hashBindingNonce(nonce), binding.nonceHash))) {
        throw new RelayStateError(
          presented.length === 0
            ? `the browser posting this SAML response does not hold the cookie of the login it finishes (${deps.bindingCookie.name(binding.id)}): a response obtained elsewhere posted from this browser (login CSRF), a browser that drops SameSite=None cookies, or a login started on another host name`
            : `the browser's login cookie ${deps.bindingCookie.name(binding.id)} does not match the login state (login CSRF, or a tampered cookie)`,
          { detail: presented.length === 0 ? 'browser_binding_absent' : 'browser_binding_mismatch', publicMessage: NOT_THIS_BROWSER, retryUrl: deps.signInUrl(input.host, returnUrl) },
        );
      }
      return { requestId: state.requestId, returnUrl, clearBinding: deps.bindingCookie.clear(input.host, binding.id) };
    }
    if (!deps.allowIdpInitiated) {
      throw new RelayStateError(
        'an unsolicited (IdP-initiated) SAML response arrived but saml.allowIdpInitiated is false; start the login from the application URL, or enable it',
        { detail: 'unsolicited_disabled' },
      );
    }
    // IdP-initiated: a RelayState, if any, may name a page on a configured host; anything else lands on the start page.
    const returnUrl = (relayState !== '' ? deps.returnUrls.resolve(relayState, input.host) : undefined) ?? deps.returnUrls.absolute(input.host, input.app.startPath);
    return { requestId: null, returnUrl, clearBinding: undefined };
  }

  return {
    async complete(input: CompleteLoginInput): Promise<CompletedLogin> {
      const expected = await expectation(input);
      input.attempt.returnUrl = expected.returnUrl;
      const profile = await deps.saml.validateResponse({
        samlResponse: input.samlResponse,
        acsUrl: deps.acsUrl(input.host),
        expectedRequestId: expected.requestId,
      });
      // A store that cannot answer throws StoreUnavailableError here: the login is refused (accepting would allow replays).
      if (!(await deps.replay.markUsed(profile.assertionId, profile.notOnOrAfterMs + deps.clockSkewMs))) {
        throw new SamlReplayError(`assertion ${profile.assertionId} from ${profile.issuer} was already used (NameID ${profile.nameId})`, { detail: 'assertion_reused' });
      }

      const { attempt } = input;
      attempt.idp = profile.issuer;
      attempt.nameId = profile.nameId;
      attempt.unsolicited = expected.requestId === null;
      const required = input.app.requiredAuthnContext;
      if (required !== undefined && (profile.authnContextClassRef === undefined || !required.classRefs.includes(profile.authnContextClassRef))) {
        throw new SamlConditionsError(
          `the assertion's AuthnContextClassRef is ${profile.authnContextClassRef ?? 'missing'}, but this app requires one of ${required.classRefs.join(', ')} (apps[].requiredAuthnContext); make the IdP honour the RequestedAuthnContext`,
          { detail: 'authn_context', publicMessage: 'This application needs a stronger sign-in (for example with a second factor) than the one you used. Please sign in again.' },
        );
      }
      // Memberships change here, before the session exists: the first page already has the right permissions.
      const { user, idpGroups } = await deps.identity.establish(profile, attempt);
      await deps.access.atLogin(input.app, user.name, idpGroups ?? []);

      const { factors } = deps.validationFactors(input.clientIp);
      const session = await deps.crowd.createSession(user.name, factors, deps.sessionDurationSeconds);
      const createdAtMs = (deps.now ?? Date.now)();
      const sessionRecorded = await recordSession(deps.sessions, {
        token: session.token,
        username: session.username || user.name,
        issuer: profile.issuer,
        nameId: profile.nameId,
        nameIdFormat: profile.nameIdFormat,
        sessionIndex: profile.sessionIndex,
        authnContextClassRef: profile.authnContextClassRef,
        createdAtMs,
        sessionNotOnOrAfterMs: profile.sessionNotOnOrAfterMs,
        expiresAtMs: Math.max(profile.sessionNotOnOrAfterMs ?? createdAtMs, createdAtMs + (deps.maxSessionAgeMs ?? 0)) + SESSION_RECORD_KEEP_MS,
        ...(idpGroups === undefined ? {} : { idpGroups }),
      });
      const cookie = await deps.crowd.getCookieConfig();
      const setCookies = [serializeCrowdCookie(cookie, session.token)];
      if (cookie.domain) setCookies.unshift(serializeCrowdCookieClears(cookie, 'host-only'));
      if (expected.clearBinding !== undefined) setCookies.push(expected.clearBinding);

      return {
        redirectUrl: expected.returnUrl,
        setCookies,
        username: session.username || user.name,
        token: session.token,
        profile,
        unsolicited: expected.requestId === null,
        sessionRecorded,
      };
    },
  };
}

export type LoginCompleter = ReturnType<typeof createLoginCompleter>;

function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
