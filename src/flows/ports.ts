/**
 * What the flows need from the outside world. Adapters (crowd/, saml/, state/) satisfy these
 * structurally and never import this file's folder; app.ts wires them together.
 * Every method throws only errors from `errors.ts`. The data types have one home each, next to the adapter that
 * speaks them (crowd/crowd-types.ts, saml/saml-profile.ts, saml/saml-messages.ts, state/session-store.ts); this file
 * imports them as types only and names them for the flows.
 */
import type { CrowdCookieConfig, CrowdGroup, CrowdSession, CrowdUser, NewCrowdUser, ValidationFactor } from '../crowd/crowd-types.js';
import type { IncomingSamlMessage, OutgoingSamlMessage } from '../saml/saml-messages.js';
import type { SamlProfile } from '../saml/saml-profile.js';
import type { SessionRecord, SessionStore } from '../state/session-store.js';

export type { CrowdCookieConfig, CrowdGroup, CrowdSession, CrowdUser, IncomingSamlMessage, NewCrowdUser, OutgoingSamlMessage, SamlProfile, SessionRecord, ValidationFactor };

/** Crowd token ↔ SAML session (NameID + SessionIndex): session lifetime, step-up and IdP-initiated logout. */
export type SessionStorePort = SessionStore;


export interface CrowdPort {
  /** `POST /session/{token}`: the session, or null when Crowd says the token is invalid (400/404 INVALID_SSO_TOKEN). */
  validateSession(token: string, factors: readonly ValidationFactor[]): Promise<CrowdSession | null>;
  /** `POST /session?validate-password=false`. Throws AccessDeniedError (inactive, application access denied), IdentityNotFoundError, Crowd*Error. */
  createSession(username: string, factors: readonly ValidationFactor[], durationSeconds?: number): Promise<CrowdSession>;
  /** `DELETE /session/{token}`; an already-invalid token is not an error. */
  invalidateSession(token: string): Promise<void>;
  /** `GET /config/cookie`, cached by the adapter. */
  getCookieConfig(): Promise<CrowdCookieConfig>;
  /** The cookie configuration while it is cached (no call); undefined when `getCookieConfig` must ask Crowd. */
  cachedCookieConfig(): CrowdCookieConfig | undefined;
  /** `GET /user?username=`: null when Crowd answers 404 USER_NOT_FOUND. */
  getUser(username: string): Promise<CrowdUser | null>;
  /** `GET /search` (CQL `email=…`): the users whose email equals `email`, ignoring case; Crowd does not keep emails unique. */
  searchUsersByEmail(email: string): Promise<CrowdUser[]>;
  /** `POST /user`. Throws IdentityNotFoundError (detail: Crowd's INVALID_USER / INVALID_EMAIL), CrowdRejectedError (no directory permission, password policy). */
  createUser(user: NewCrowdUser): Promise<void>;
  /** `PUT /user`: replaces names, email and active of an existing user. */
  updateUser(user: CrowdUser): Promise<void>;
  getDirectGroups(username: string): Promise<string[]>;
  getNestedGroups(username: string): Promise<string[]>;
  /** Already a member is not an error. */
  addUserToGroup(username: string, group: string): Promise<void>;
  /** Not a member is not an error. */
  removeUserFromGroup(username: string, group: string): Promise<void>;
  /** `GET /group`: null when the group does not exist. */
  getGroup(name: string): Promise<CrowdGroup | null>;
  createGroup(name: string, description: string): Promise<void>;
}


/** A user's Crowd groups (direct and nested), cached per username for apps[].access at the gate. */
export interface CrowdGroupsPort {
  groups(username: string): Promise<readonly string[]>;
  /** The next `groups` call asks Crowd (memberships just changed or must be fresh). */
  forget(username: string): void;
}

/** Cached, single-flight token validation (the gate's only Crowd dependency). */
export interface TokenValidatorPort {
  /**
   * `cacheKey` distinguishes factor sets (e.g. the client IP); equal keys share one Crowd call. A token not valid
   * recently costs `clientIp`'s Crowd budget: null (like an invalid token) when that budget is spent.
   */
  validate(token: string, factors: readonly ValidationFactor[], cacheKey: string, clientIp: string): Promise<CrowdSession | null>;
  /** The cached answer only (no Crowd call): the session, null (invalid), or undefined (ask with `validate`). */
  cached(token: string, cacheKey: string): CrowdSession | null | undefined;
  /** Forget a token (after logout). */
  forget(token: string): void;
}


export interface LoginRequest {
  /** Where to send the browser (IdP SSO URL with SAMLRequest, RelayState and, when signing, SigAlg/Signature). */
  readonly redirectUrl: string;
}

export interface SamlPort {
  /** Build an AuthnRequest (HTTP-Redirect binding) with the given ID for the ACS URL of the host the login started on. */
  createLoginRequest(options: {
    acsUrl: string;
    requestId: string;
    relayState: string;
    forceAuthn?: boolean;
    /** RequestedAuthnContext (apps[].requiredAuthnContext); none is sent without it. */
    authnContext?: RequestedAuthnContext;
  }): Promise<LoginRequest>;
  /**
   * Validate a posted `SAMLResponse` (base64) strictly: signature by a pinned IdP key, Issuer, Status,
   * Destination, bearer SubjectConfirmation (Recipient, NotOnOrAfter, InResponseTo), Audience, time window.
   * `expectedRequestId` null = an unsolicited response is expected (IdP-initiated).
   * Does NOT check single use; the flow does that with the replay store.
   * Throws SamlMalformedError, SamlSignatureError, SamlConditionsError, IdpStatusError.
   */
  validateResponse(options: { samlResponse: string; acsUrl: string; expectedRequestId: string | null }): Promise<SamlProfile>;
  /** Throws IdpUnavailableError when the IdP metadata could not be loaded. */
  checkReady(): Promise<void>;
  /** A LogoutRequest for one SAML session, signed; `binding: 'none'` (with the reason) when single logout is not possible. */
  createLogoutRequest(options: {
    requestId: string;
    nameId: string;
    nameIdFormat: string | undefined;
    sessionIndex: string | undefined;
    relayState: string;
  }): Promise<OutgoingSamlMessage>;
  /** The LogoutResponse to an IdP's LogoutRequest; `partial` when some sessions could not be ended. */
  createLogoutResponse(options: { inResponseTo: string; partial: boolean; relayState: string | undefined }): Promise<OutgoingSamlMessage>;
  /**
   * A LogoutRequest or LogoutResponse that arrived at `sloUrl`: signature by a pinned IdP key REQUIRED, Issuer,
   * Destination, time window. Throws SamlSignatureError (unsigned, forged), SamlMalformedError, SamlConditionsError.
   */
  readLogoutMessage(message: IncomingSamlMessage, sloUrl: string): Promise<LogoutMessage>;
}

export interface RequestedAuthnContext {
  readonly classRefs: readonly string[];
  readonly comparison: 'exact' | 'minimum';
}


/** A verified logout message. */
export type LogoutMessage =
  | {
      readonly kind: 'request';
      readonly id: string;
      readonly issuer: string;
      readonly nameId: string;
      readonly nameIdFormat: string | undefined;
      /** Empty: every session of that NameID. */
      readonly sessionIndexes: readonly string[];
      /** Until when its ID is remembered against replay. */
      readonly expiresAtMs: number;
      readonly relayState: string | undefined;
    }
  | {
      readonly kind: 'response';
      readonly id: string;
      readonly inResponseTo: string | undefined;
      readonly success: boolean;
      readonly status: string;
      readonly relayState: string | undefined;
    };

/** What travels, sealed, in RelayState between the login start and the ACS. */
export interface LoginState {
  readonly requestId: string;
  /** Absolute URL on a configured app host. */
  readonly returnUrl: string;
  /** The browser that started the login (login CSRF); a logout state has none. */
  readonly browserBinding?: BrowserBinding;
}

/** The login-binding cookie's id (in its name) and the SHA-256 of its nonce (base64url). */
export interface BrowserBinding {
  readonly id: string;
  readonly nonceHash: string;
}

export interface StateSealerPort {
  seal(state: LoginState): Promise<string>;
  /** Throws RelayStateError when tampered, expired or not ours. */
  open(sealed: string): Promise<LoginState>;
}

export interface ReplayStorePort {
  /** Records `id` as used until `expiresAtMs`; false when it was already used. */
  markUsed(id: string, expiresAtMs: number): Promise<boolean>;
}

/** The validation factors for one client, and the cache key that identifies them. */
export interface FactorSet {
  readonly factors: readonly ValidationFactor[];
  readonly cacheKey: string;
}

