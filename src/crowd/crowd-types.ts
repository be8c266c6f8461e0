/**
 * The data Crowd's REST API talks about, as the proxy uses it: one home, imported (types only) by the Crowd adapter
 * and by the flows' ports alike.
 */

/** One Crowd validation factor, names exactly as Crowd spells them (`remote_address`, `X-Forwarded-For`). */
export interface ValidationFactor {
  readonly name: string;
  readonly value: string;
}

export interface CrowdSession {
  readonly token: string;
  /** Crowd username as Crowd stores it. */
  readonly username: string;
  readonly createdAtMs: number | undefined;
  readonly expiresAtMs: number | undefined;
}

/** Crowd's SSO cookie settings (`GET /config/cookie`, with the proxy's overrides). */
export interface CrowdCookieConfig {
  readonly name: string;
  /** undefined = host-only cookie. No leading dot. */
  readonly domain: string | undefined;
  readonly secure: boolean;
}

export interface CrowdUser {
  readonly name: string;
  readonly active: boolean;
  readonly email: string | undefined;
  readonly firstName: string | undefined;
  readonly lastName: string | undefined;
  readonly displayName: string | undefined;
}

export interface NewCrowdUser {
  readonly name: string;
  readonly firstName: string | undefined;
  readonly lastName: string | undefined;
  readonly displayName: string | undefined;
  readonly email: string | undefined;
  /** Required by Crowd even for users who only ever sign in through SSO: use a long random value. */
  readonly password: string;
  readonly active: boolean;
}

export interface CrowdGroup {
  readonly name: string;
  readonly description: string | undefined;
  readonly active: boolean;
}
