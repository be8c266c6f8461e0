/**
 * The compiled, validated, frozen configuration every other module reads.
 * Produced by `compileConfig` from the JSON file; nothing downstream re-validates it.
 * Units are in the names (Ms, Seconds, Bytes).
 */

export interface TlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface ListenConfig {
  readonly host: string;
  readonly port: number;
  readonly tls: TlsConfig | undefined;
}

export interface AppConfig {
  /** Short name used in logs and metrics (`jira`). */
  readonly name: string;
  /** Host header values (lower-case, with `:port` when not the default port) routed to this app. */
  readonly hosts: readonly string[];
  /** Upstream base URL (scheme, host, port; path prefix allowed). */
  readonly upstream: URL;
  /** Where an IdP-initiated login or a login without return URL lands. */
  readonly startPath: string;
  /** Upstream socket/response timeout. */
  readonly upstreamTimeoutMs: number;
}

/**
 * How the proxy computes Crowd validation factors (crowd.md §3.4).
 * - `client-ip`: `remote_address` = the client IP the proxy resolved. Right when Crowd's
 *   "Require consistent client IP address" is off, when the proxy is a trusted proxy in Crowd,
 *   or when the apps run a RemoteIpValve.
 * - `as-upstream`: exactly the pair each app will send: `remote_address` = `proxyAddress`
 *   (the proxy's address as the apps see it) and `X-Forwarded-For` = the client IP the proxy forwards.
 *   Right when consistent IP is on and the proxy is NOT a trusted proxy in Crowd.
 */
export type ValidationFactorsConfig =
  | { readonly mode: 'client-ip' }
  | { readonly mode: 'as-upstream'; readonly proxyAddress: string };

export interface CrowdCookieOverrides {
  readonly name: string | undefined;
  readonly domain: string | undefined;
  readonly secure: boolean | undefined;
}

export interface CrowdConfig {
  /** Crowd base URL including the context path, no trailing slash (`https://crowd.example.com/crowd`). */
  readonly baseUrl: string;
  readonly applicationName: string;
  readonly applicationPassword: string;
  /** Bound for one Crowd REST call (connect + headers + body). */
  readonly timeoutMs: number;
  /** How long a positive token validation is trusted. */
  readonly cacheTtlMs: number;
  /** How long a negative (invalid token) answer is remembered. */
  readonly negativeCacheTtlMs: number;
  readonly cacheMaxEntries: number;
  /** How long `GET /config/cookie` is cached. */
  readonly cookieConfigTtlMs: number;
  readonly cookie: CrowdCookieOverrides;
  readonly validationFactors: ValidationFactorsConfig;
  /** Optional `duration` for new sessions (capped by Crowd's own session timeout). */
  readonly sessionDurationSeconds: number | undefined;
}

export type IdpSource =
  | { readonly kind: 'metadata-file'; readonly path: string }
  | { readonly kind: 'metadata-url'; readonly url: string }
  | {
      readonly kind: 'manual';
      readonly entityId: string;
      readonly ssoUrl: string;
      readonly sloUrl: string | undefined;
      /** PEM certificates (as text) the IdP signs with; only these are trusted. */
      readonly signingCerts: readonly string[];
    };

export type UsernameSource =
  | { readonly from: 'nameId' }
  | { readonly from: 'attribute'; readonly attribute: string };

export interface SamlConfig {
  readonly spEntityId: string;
  readonly idp: IdpSource;
  /** For metadata sources: the IdP entity to pick when the file holds several; also overrides. */
  readonly idpEntityId: string | undefined;
  readonly nameIdFormat: string;
  readonly username: UsernameSource;
  /** PEM text of the SP key and certificate, when AuthnRequests are signed. */
  readonly spPrivateKey: string | undefined;
  readonly spCertificate: string | undefined;
  readonly signAuthnRequests: boolean;
  readonly clockSkewMs: number;
  /** How long a started login may take before its state expires. */
  readonly loginTimeoutMs: number;
  readonly allowIdpInitiated: boolean;
  readonly acsMaxBodyBytes: number;
  /** Inflated size cap for SAML messages (Redirect binding, and decoded POST). */
  readonly maxMessageBytes: number;
  readonly forceAuthn: boolean;
  readonly metadataTimeoutMs: number;
}

export interface RuntimeConfig {
  readonly listen: ListenConfig;
  /** Scheme the browser uses to reach the proxy (`https` when TLS is terminated here or at a load balancer). */
  readonly publicScheme: 'http' | 'https';
  /** Prefix of the proxy's own endpoints, e.g. `/_sso` (no trailing slash). */
  readonly pathPrefix: string;
  /** CIDRs whose X-Forwarded-* headers are believed. */
  readonly trustedProxies: readonly string[];
  /** At least 32 bytes; seals the login state so any instance can finish a login. */
  readonly stateSecret: Uint8Array;
  readonly apps: readonly AppConfig[];
  readonly crowd: CrowdConfig;
  readonly saml: SamlConfig;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Directory of the config file, to resolve relative paths in messages. */
  readonly configDir: string;
}
