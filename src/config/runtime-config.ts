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
  /** Re-read on reload; switching between HTTP and HTTPS needs a restart. */
  readonly tls: TlsConfig | undefined;
  /** Plain-HTTP listener that redirects to HTTPS (only with `tls`). */
  readonly httpRedirect: { readonly host: string; readonly port: number } | undefined;
  /** Strict-Transport-Security on HTTPS responses (only with `tls`). */
  readonly hsts: { readonly maxAgeSeconds: number; readonly includeSubDomains: boolean } | undefined;
  /** How long a client may take to send a request's headers (slow clients are cut). */
  readonly headersTimeoutMs: number;
  /** How long an idle keep-alive connection stays open between requests. */
  readonly keepAliveTimeoutMs: number;
  /** Open connections per process (WebSockets included) above which new ones are refused; undefined = from the open-file limit. */
  readonly maxConnections: number | undefined;
}

/** The admin listener (`/metrics`, `/health`, `/ready`); metrics are collected only when it is configured. */
export interface AdminConfig {
  readonly host: string;
  readonly port: number;
}

/** `enforce`: the proxy acts on its decisions; `observe`: it only logs them and forwards everything untouched. */
export type ProxyMode = 'enforce' | 'observe';

export type AppPresetName = 'jira' | 'jsm' | 'confluence' | 'bitbucket' | 'bamboo' | 'fisheye';

/**
 * What a matching request needs: `required` a valid SSO session; `optional` forwarded anonymously without one;
 * `public` never touched; `credentials` forwarded untouched when it carries its own credentials (Authorization
 * Basic/Bearer/OAuth), else treated as `required`.
 */
export type PathAction = 'required' | 'optional' | 'public' | 'credentials';

/** One path rule (apps[].rules, a preset's paths); all given conditions must hold. */
export interface PathRule {
  /** Where it comes from, for logs: `apps[0].rules[2]` or `preset jira`. */
  readonly source: string;
  /** Path prefix on segment boundaries. */
  readonly path: string | undefined;
  /** Regular expression source, tested against the path (without query). */
  readonly pattern: string | undefined;
  /** Upper-case HTTP methods; undefined = any. */
  readonly methods: readonly string[] | undefined;
  readonly action: PathAction;
}

/** The AuthnContextClassRef an app requires (e.g. MFA): requested in the AuthnRequest and checked in the assertion. */
export interface RequiredAuthnContext {
  /** Accepted class references; the assertion's must be one of them. */
  readonly classRefs: readonly string[];
  readonly comparison: 'exact' | 'minimum';
}

/** Break-glass access to the app's own login page without SSO. */
export interface EmergencyAccessConfig {
  readonly path: string;
  /** A query parameter the request must carry (e.g. `nosso`). */
  readonly query: string | undefined;
  /** IP addresses or CIDR ranges allowed to use it, as written. */
  readonly allowFrom: readonly string[];
  /** A header the request must carry, with this exact (secret) value. */
  readonly secretHeader: { readonly name: string; readonly value: string } | undefined;
  /** Where the app's login forms post: allowed (POST only) for a request that passes the checks above. */
  readonly loginFormPaths: readonly string[];
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
  /** Let a Crowd Set-Cookie in the answer to a credentials forward reach the client. */
  readonly passCrowdCookieFromCredentials: boolean;
  readonly preset: AppPresetName | undefined;
  /** apps[].mode, else the top-level mode. */
  readonly mode: ProxyMode;
  /** The app's own rules, then its preset's; first match wins; no match = `required`. */
  readonly rules: readonly PathRule[];
  /** The app's login page(s): a browser without a session is sent to the IdP (returning where the app wanted to go). */
  readonly loginPaths: readonly string[];
  /**
   * Where the app's own password login forms post (the preset's): never opened by a `credentials` or `public` rule
   * (a password login there would mint a Crowd session without the IdP); only emergency access forwards them.
   */
  readonly loginFormPaths: readonly string[];
  /** The app's own Crowd application: sessions are also validated as the app validates them (its permissions). */
  readonly crowdApplication: { readonly name: string; readonly password: string } | undefined;
  /** apps[].basicRealm, else the preset's: the proxy's 401 to a non-browser client challenges `Basic realm="…"`; undefined = the app name. */
  readonly basicRealm: string | undefined;
  readonly logoutPaths: readonly string[];
  /** Query parameters of the login page that name the page to return to (`os_destination`). */
  readonly returnParameters: readonly string[];
  readonly requiredAuthnContext: RequiredAuthnContext | undefined;
  readonly emergencyAccess: EmergencyAccessConfig | undefined;
  /** apps[].access: who may use the app at all; undefined = every user Crowd lets in. */
  readonly access: AccessRestriction | undefined;
}

/** apps[].access: allowed when the user carries any listed group (names compared ignoring case). */
export interface AccessRestriction {
  /** IdP group values, as sent in identity.groups.attribute. */
  readonly idpGroups: readonly string[];
  /** Crowd groups, direct or nested. */
  readonly crowdGroups: readonly string[];
  /** Shown on the refusal page: whom to ask for access. */
  readonly contact: string | undefined;
}

export interface LogoutConfig {
  /** Where the browser lands after logout (else the proxy's signed-out page). */
  readonly redirectUrl: string | undefined;
  /** How long, after a logout, a browser is shown the signed-out page instead of being sent to the IdP. */
  readonly suppressLoginMs: number;
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
  /** Crowd calls at once, per client address, validating tokens not valid recently. */
  readonly maxValidationsInFlightPerClient: number;
  /** Crowd calls per second (and burst), per client address, validating tokens not valid recently. */
  readonly maxValidationsPerClientPerSecond: number;
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

/** One step that turns an IdP value into a Crowd username (identity.username[].transforms). */
export type UsernameTransform =
  | { readonly kind: 'lowercase' }
  | { readonly kind: 'strip-email-domain' }
  | { readonly kind: 'strip-windows-domain' }
  /** Every match of `pattern` (global) replaced by `with` (`$1` etc.). */
  | { readonly kind: 'replace'; readonly pattern: RegExp; readonly with: string };

/** identity.username[]: where a username comes from and how it is looked up; the first strategy that finds a user wins. */
export interface UsernameStrategy {
  readonly from: 'nameId' | 'attribute';
  /** With `from: "attribute"`: its Name or FriendlyName. */
  readonly attribute: string | undefined;
  readonly transforms: readonly UsernameTransform[];
  /** `username`: Crowd's user by that name; `email`: Crowd's user search by email (more than one match is refused). */
  readonly lookup: 'username' | 'email';
}

/** identity.provisioning: just-in-time creation of Crowd users. */
export interface ProvisioningConfig {
  readonly enabled: boolean;
  /** On later logins, write changed profile attributes back to Crowd. */
  readonly updateProfile: boolean;
  /** SAML attribute names (Name or FriendlyName) of the profile fields; undefined = not mapped. */
  readonly attributes: {
    readonly email: string | undefined;
    readonly firstName: string | undefined;
    readonly lastName: string | undefined;
    readonly displayName: string | undefined;
  };
}

/** identity.groups.patterns[]. */
export interface GroupPattern {
  /** Whole-value, case-insensitive match of an IdP group value. */
  readonly match: RegExp;
  /** Crowd group name template (`$1`, `$<name>`). */
  readonly group: string;
  /** Matches every Crowd group name the template can produce: the groups this pattern manages in `sync-managed` mode. */
  readonly produces: RegExp;
}

/** identity.groups: IdP group values → Crowd group memberships. */
export interface GroupSyncConfig {
  /** Attribute (Name or FriendlyName) carrying the IdP group values. */
  readonly attribute: string;
  readonly mode: 'add-only' | 'sync-managed';
  /** Lower-cased IdP value → Crowd groups. */
  readonly map: ReadonlyMap<string, readonly string[]>;
  readonly patterns: readonly GroupPattern[];
  /** Given to users created just in time. */
  readonly defaultGroups: readonly string[];
  /** Create a mapped group that does not exist in Crowd (else it is skipped with a warning). */
  readonly createMissing: boolean;
}

/** identity: how an IdP identity becomes a Crowd user. */
export interface IdentityConfig {
  readonly username: readonly UsernameStrategy[];
  readonly provisioning: ProvisioningConfig;
  /** undefined = group memberships are not touched and apps[].access.idpGroups cannot be used. */
  readonly groups: GroupSyncConfig | undefined;
}

/** `either`: the Response or its Assertion; `both`: each of them. */
export type SignatureRequirement = 'either' | 'assertion' | 'response' | 'both';

export interface SamlConfig {
  readonly spEntityId: string;
  readonly idp: IdpSource;
  /** For metadata sources: the IdP entity to pick when the file holds several; also overrides. */
  readonly idpEntityId: string | undefined;
  readonly nameIdFormat: string;
  /** PEM text of the SP key and certificate, when AuthnRequests are signed. */
  readonly spPrivateKey: string | undefined;
  readonly spCertificate: string | undefined;
  readonly signAuthnRequests: boolean;
  /** Which signatures a SAML Response must carry (by a pinned IdP certificate); the SP metadata says the same. */
  readonly requireSignature: SignatureRequirement;
  readonly clockSkewMs: number;
  /** How long a started login may take before its state expires. */
  readonly loginTimeoutMs: number;
  readonly allowIdpInitiated: boolean;
  readonly acsMaxBodyBytes: number;
  /** How long a client may take to send the whole body of a post to the ACS or SLO endpoint. */
  readonly bodyTimeoutMs: number;
  /** Login starts one client address may make a minute (and at once: a fifth of it, at least 10). */
  readonly maxLoginStartsPerClientPerMinute: number;
  /** Inflated size cap for SAML messages (Redirect binding, and decoded POST). */
  readonly maxMessageBytes: number;
  readonly forceAuthn: boolean;
  /** After this long since the SAML login, the user signs in again (undefined = no limit beyond the IdP's). */
  readonly maxSessionAgeMs: number | undefined;
  /** A browser navigation with a Crowd session the proxy has no login record of goes to the IdP. */
  readonly requireSsoSession: boolean;
  /** Send ForceAuthn when the session ended (SessionNotOnOrAfter, maxSessionAgeMs). */
  readonly forceAuthnOnReauth: boolean;
  readonly metadataTimeoutMs: number;
  /** How often a `metadata-url` IdP's metadata is fetched again. */
  readonly metadataRefreshMs: number;
}

/** store.redis: the Redis every instance shares. */
export interface RedisStoreConfig {
  /** `redis://` or `rediss://` URL: host, port, database, optional ACL user name; never a password (loggable). */
  readonly url: string;
  readonly keyPrefix: string;
  readonly password: string | undefined;
  readonly tls: boolean;
  readonly connectTimeoutMs: number;
  /** Bound for one command, including the wait for a connection. */
  readonly commandTimeoutMs: number;
}

export interface StoreConfig {
  /** undefined = in memory (one process). */
  readonly redis: RedisStoreConfig | undefined;
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
  /** Default for apps[].mode. */
  readonly mode: ProxyMode;
  readonly logout: LogoutConfig;
  readonly saml: SamlConfig;
  readonly identity: IdentityConfig;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** SIGTERM/SIGINT: how long requests and WebSockets in flight may take before their connections are closed. */
  readonly shutdownGraceMs: number;
  /** Reload when the configuration file changes. */
  readonly watchConfig: boolean;
  /** Worker processes (node:cluster); 0 = one per CPU core; 1 = no cluster. Read at start only. */
  readonly workers: number;
  /** `json` lines for collectors, `pretty` for a terminal (read at start only). */
  readonly logFormat: 'json' | 'pretty';
  /** One info line per request. */
  readonly accessLog: boolean;
  readonly admin: AdminConfig | undefined;
  /** Shared state (replay cache, session index); read at start only. */
  readonly store: StoreConfig;
  /** Directory of the config file, to resolve relative paths in messages. */
  readonly configDir: string;
}
