/**
 * The error catalog: one class per failure class. Each maps to an HTTP status, the page
 * shown to a person, a snake_case reason (log field and metric label) and a log level.
 *
 * Adapters translate library errors into these once; nothing else matches on message text.
 * `message` is for the administrator's log; `publicMessage` is the only text a browser sees.
 */

export type ErrorCode =
  | 'ERR_CONFIG'
  | 'ERR_BAD_REQUEST'
  | 'ERR_PAYLOAD_TOO_LARGE'
  | 'ERR_REQUEST_TIMEOUT'
  | 'ERR_UNKNOWN_HOST'
  | 'ERR_SAML_MALFORMED'
  | 'ERR_SAML_SIGNATURE'
  | 'ERR_SAML_CONDITIONS'
  | 'ERR_SAML_REPLAY'
  | 'ERR_IDP_STATUS'
  | 'ERR_IDP_UNAVAILABLE'
  | 'ERR_RELAY_STATE'
  | 'ERR_IDENTITY'
  | 'ERR_IDENTITY_AMBIGUOUS'
  | 'ERR_ACCESS_DENIED'
  | 'ERR_CROWD_UNAVAILABLE'
  | 'ERR_CROWD_REJECTED'
  | 'ERR_STORE_UNAVAILABLE'
  | 'ERR_UPSTREAM_UNAVAILABLE'
  | 'ERR_UPSTREAM_TIMEOUT'
  | 'ERR_APP_REFUSED_SESSION'
  | 'ERR_TOO_MANY_LOGINS'
  | 'ERR_INTERNAL';

export type PageName =
  | 'bad-request'
  | 'too-large'
  | 'unknown-host'
  | 'login-failed'
  | 'login-expired'
  | 'no-account'
  | 'account-ambiguous'
  | 'access-denied'
  | 'try-later'
  | 'upstream-down'
  | 'app-refused';

export type LogLevel = 'warn' | 'error' | 'info';

export interface CatalogEntry {
  readonly status: number;
  readonly page: PageName;
  readonly reason: string;
  readonly level: LogLevel;
  /** Plain words for the person in front of the browser. */
  readonly publicMessage: string;
}

export const ERROR_CATALOG: Readonly<Record<Exclude<ErrorCode, 'ERR_CONFIG'>, CatalogEntry>> = Object.freeze({
  ERR_BAD_REQUEST: { status: 400, page: 'bad-request', reason: 'malformed_request', level: 'info', publicMessage: 'The request could not be understood.' },
  ERR_PAYLOAD_TOO_LARGE: { status: 413, page: 'too-large', reason: 'payload_too_large', level: 'warn', publicMessage: 'The request body is larger than this server accepts.' },
  ERR_REQUEST_TIMEOUT: { status: 408, page: 'bad-request', reason: 'request_timeout', level: 'info', publicMessage: 'The request did not arrive in time. Please try again.' },
  ERR_UNKNOWN_HOST: { status: 421, page: 'unknown-host', reason: 'unknown_host', level: 'info', publicMessage: 'This server does not serve the requested host name.' },
  ERR_SAML_MALFORMED: { status: 400, page: 'login-failed', reason: 'saml_malformed', level: 'warn', publicMessage: 'The sign-in response from your identity provider could not be read.' },
  ERR_SAML_SIGNATURE: { status: 403, page: 'login-failed', reason: 'saml_signature', level: 'warn', publicMessage: 'The sign-in response from your identity provider could not be verified.' },
  ERR_SAML_CONDITIONS: { status: 403, page: 'login-failed', reason: 'saml_conditions', level: 'warn', publicMessage: 'The sign-in response from your identity provider is not valid for this site or has expired.' },
  ERR_SAML_REPLAY: { status: 403, page: 'login-failed', reason: 'saml_replay', level: 'warn', publicMessage: 'This sign-in response was already used. Please sign in again.' },
  ERR_IDP_STATUS: { status: 403, page: 'login-failed', reason: 'idp_status', level: 'warn', publicMessage: 'Your identity provider did not sign you in.' },
  ERR_IDP_UNAVAILABLE: { status: 502, page: 'try-later', reason: 'idp_unavailable', level: 'error', publicMessage: 'The identity provider cannot be reached right now. Please try again in a few minutes.' },
  ERR_RELAY_STATE: { status: 400, page: 'login-expired', reason: 'relay_state_invalid', level: 'info', publicMessage: 'This sign-in took too long or was started elsewhere. Please sign in again.' },
  ERR_IDENTITY: { status: 403, page: 'no-account', reason: 'identity_unmapped', level: 'warn', publicMessage: 'You signed in, but there is no matching account here.' },
  ERR_IDENTITY_AMBIGUOUS: { status: 403, page: 'account-ambiguous', reason: 'identity_ambiguous', level: 'warn', publicMessage: 'You signed in, but your identity matches more than one account here, so you cannot be signed in automatically.' },
  ERR_ACCESS_DENIED: { status: 403, page: 'access-denied', reason: 'access_denied', level: 'warn', publicMessage: 'You signed in, but your account may not use this application.' },
  ERR_CROWD_UNAVAILABLE: { status: 503, page: 'try-later', reason: 'crowd_unavailable', level: 'error', publicMessage: 'The sign-in service is not answering right now. Please try again in a few minutes.' },
  ERR_CROWD_REJECTED: { status: 502, page: 'try-later', reason: 'crowd_rejected', level: 'error', publicMessage: 'The sign-in service refused this server. An administrator has to fix this.' },
  ERR_STORE_UNAVAILABLE: { status: 503, page: 'try-later', reason: 'store_unavailable', level: 'error', publicMessage: 'Signing in is not possible right now. Please try again in a few minutes.' },
  ERR_UPSTREAM_UNAVAILABLE: { status: 502, page: 'upstream-down', reason: 'upstream_unavailable', level: 'error', publicMessage: 'The application is not answering right now. Please try again in a few minutes.' },
  ERR_UPSTREAM_TIMEOUT: { status: 504, page: 'upstream-down', reason: 'upstream_timeout', level: 'error', publicMessage: 'The application took too long to answer. Please try again in a few minutes.' },
  ERR_APP_REFUSED_SESSION: { status: 502, page: 'app-refused', reason: 'app_refused_session', level: 'warn', publicMessage: 'You are signed in, but the application did not accept your session. This is a configuration problem, not yours.' },
  ERR_TOO_MANY_LOGINS: { status: 429, page: 'try-later', reason: 'too_many_logins', level: 'info', publicMessage: 'Too many sign-ins were started from your network just now. Please wait a moment and try again.' },
  ERR_INTERNAL: { status: 500, page: 'try-later', reason: 'internal_error', level: 'error', publicMessage: 'Something went wrong on this server. Please try again in a few minutes.' },
});

export interface SsoProxyErrorOptions {
  cause?: unknown;
  /** Machine-readable detail for the log (e.g. the Crowd `reason`, the failed SAML condition). */
  detail?: string;
  /** Overrides the catalog's public text when a more specific, still safe, sentence helps the user. */
  publicMessage?: string;
  /** A validated URL on a configured app host where the user can start again (the page links "Sign in again"). */
  retryUrl?: string;
}

export abstract class SsoProxyError extends Error {
  abstract readonly code: ErrorCode;
  readonly detail: string | undefined;
  readonly retryUrl: string | undefined;
  readonly #publicMessage: string | undefined;

  constructor(message: string, options: SsoProxyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.detail = options.detail;
    this.retryUrl = options.retryUrl;
    this.#publicMessage = options.publicMessage;
  }

  get entry(): CatalogEntry {
    return ERROR_CATALOG[this.code as Exclude<ErrorCode, 'ERR_CONFIG'>];
  }
  get status(): number {
    return this.entry.status;
  }
  get reason(): string {
    return this.entry.reason;
  }
  get publicMessage(): string {
    return this.#publicMessage ?? this.entry.publicMessage;
  }
}

/** One problem in the configuration, with the key path it concerns (`apps[1].upstream`). */
export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

/** Collects every configuration problem; the CLI prints one line per problem and exits non-zero. */
export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG' as const;
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[], options?: { cause?: unknown }) {
    super(problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('\n'), options);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export class BadRequestError extends SsoProxyError { readonly code = 'ERR_BAD_REQUEST' as const; }
export class PayloadTooLargeError extends SsoProxyError { readonly code = 'ERR_PAYLOAD_TOO_LARGE' as const; }
export class RequestTimeoutError extends SsoProxyError { readonly code = 'ERR_REQUEST_TIMEOUT' as const; }
export class UnknownHostError extends SsoProxyError { readonly code = 'ERR_UNKNOWN_HOST' as const; }
export class SamlMalformedError extends SsoProxyError { readonly code = 'ERR_SAML_MALFORMED' as const; }
export class SamlSignatureError extends SsoProxyError { readonly code = 'ERR_SAML_SIGNATURE' as const; }
/** `detail` names the failed condition: issuer, destination, recipient, audience, not_before, not_on_or_after, in_response_to, subject_confirmation, ... */
export class SamlConditionsError extends SsoProxyError { readonly code = 'ERR_SAML_CONDITIONS' as const; }
export class SamlReplayError extends SsoProxyError { readonly code = 'ERR_SAML_REPLAY' as const; }
export class IdpStatusError extends SsoProxyError { readonly code = 'ERR_IDP_STATUS' as const; }
export class IdpUnavailableError extends SsoProxyError { readonly code = 'ERR_IDP_UNAVAILABLE' as const; }
export class RelayStateError extends SsoProxyError { readonly code = 'ERR_RELAY_STATE' as const; }
export class IdentityNotFoundError extends SsoProxyError { readonly code = 'ERR_IDENTITY' as const; }
/** The IdP identity matches several Crowd users (e.g. one email, two accounts): refused, never guessed. */
export class IdentityAmbiguousError extends SsoProxyError { readonly code = 'ERR_IDENTITY_AMBIGUOUS' as const; }
export class AccessDeniedError extends SsoProxyError { readonly code = 'ERR_ACCESS_DENIED' as const; }
export class CrowdUnavailableError extends SsoProxyError { readonly code = 'ERR_CROWD_UNAVAILABLE' as const; }
export class CrowdRejectedError extends SsoProxyError { readonly code = 'ERR_CROWD_REJECTED' as const; }
/** The shared state store (store.redis) did not answer in time; the login cannot be checked for replay. */
export class StoreUnavailableError extends SsoProxyError { readonly code = 'ERR_STORE_UNAVAILABLE' as const; }
export class UpstreamUnavailableError extends SsoProxyError { readonly code = 'ERR_UPSTREAM_UNAVAILABLE' as const; }
/** The app sent a user whose session Crowd holds valid to its login page (or answered 401): validation factors, or the app's Crowd application permissions. */
export class AppRefusedSessionError extends SsoProxyError { readonly code = 'ERR_APP_REFUSED_SESSION' as const; }
/** More login starts from one client address than saml.maxLoginStartsPerClientPerMinute allows. */
export class TooManyLoginsError extends SsoProxyError { readonly code = 'ERR_TOO_MANY_LOGINS' as const; }
export class UpstreamTimeoutError extends SsoProxyError { readonly code = 'ERR_UPSTREAM_TIMEOUT' as const; }
/** A bug or an unexpected library failure; wraps the original as `cause`. */
export class InternalError extends SsoProxyError { readonly code = 'ERR_INTERNAL' as const; }

export function isSsoProxyError(value: unknown): value is SsoProxyError {
  return value instanceof SsoProxyError;
}
