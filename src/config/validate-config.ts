import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { ConfigError, type ConfigProblem } from '../errors.js';
import type { RuntimeConfig, SignatureRequirement } from './runtime-config.js';
import { isAddressOrRange } from './address-range.js';
import { validateAppRules, type RawAppRules } from './validate-app-rules.js';
import { validateRedisStore, type RawRedisStore } from './validate-redis-store.js';
import { validateSchema, type SchemaValidation } from './validate-schema.js';
import { checkIdentityConfig, type RawAccessRestriction, type RawIdentity } from './identity-config.js';
import { normalizeHost, resolveListenPort, resolvePublicScheme } from './host-and-port.js';
import { resolveSecret, type SecretContext, type SecretSpec } from './resolve-secrets.js';

/** The configuration file as the schema guarantees it (defaults not applied, secrets not resolved). */
export interface RawConfig {
  readonly $schema?: string;
  readonly listen?: {
    readonly host?: string;
    readonly port?: number;
    readonly tls?: RawTls;
    readonly httpRedirect?: { readonly host?: string; readonly port: number };
    readonly hsts?: RawHsts;
    readonly headersTimeoutSeconds?: number;
    readonly keepAliveTimeoutSeconds?: number;
    readonly maxConnections?: number;
  };
  readonly publicScheme?: 'http' | 'https';
  readonly pathPrefix?: string;
  readonly trustedProxies?: readonly string[];
  readonly stateSecret: SecretSpec;
  readonly logLevel?: RuntimeConfig['logLevel'];
  readonly shutdownGraceSeconds?: number;
  readonly watchConfig?: boolean;
  readonly workers?: number;
  readonly logFormat?: RuntimeConfig['logFormat'];
  readonly accessLog?: boolean;
  readonly admin?: { readonly host?: string; readonly port: number };
  readonly store?: { readonly redis?: RawRedisStore };
  readonly mode?: RuntimeConfig['mode'];
  readonly logout?: { readonly redirectUrl?: string; readonly suppressLoginSeconds?: number };
  readonly apps: readonly RawApp[];
  readonly crowd: RawCrowd;
  readonly saml: RawSaml;
  readonly identity?: RawIdentity;
}

export interface RawHsts {
  readonly maxAgeSeconds?: number;
  readonly includeSubDomains?: boolean;
}

export interface RawTls {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface RawApp extends RawAppRules {
  readonly name: string;
  readonly hosts: readonly string[];
  readonly upstream: string;
  readonly startPath?: string;
  readonly upstreamTimeoutSeconds?: number;
  readonly passCrowdCookieFromCredentials?: boolean;
  readonly access?: RawAccessRestriction;
  readonly crowdApplication?: { readonly name: string; readonly password: SecretSpec };
}

export interface RawCrowd {
  readonly baseUrl: string;
  readonly applicationName: string;
  readonly applicationPassword: SecretSpec;
  readonly timeoutMs?: number;
  readonly cacheTtlSeconds?: number;
  readonly negativeCacheTtlSeconds?: number;
  readonly cacheMaxEntries?: number;
  readonly maxValidationsInFlightPerClient?: number;
  readonly maxValidationsPerClientPerSecond?: number;
  readonly cookieConfigTtlSeconds?: number;
  readonly cookie?: { readonly name?: string; readonly domain?: string; readonly secure?: boolean };
  readonly validationFactors?: { readonly mode: 'client-ip' } | { readonly mode: 'as-upstream'; readonly proxyAddress: string };
  readonly sessionDurationSeconds?: number;
}

export type RawIdp =
  | { readonly metadataUrl: string }
  | { readonly metadataFile: string }
  | { readonly entityId: string; readonly ssoUrl: string; readonly sloUrl?: string; readonly signingCerts: readonly SecretSpec[] };

export interface RawSaml {
  readonly spEntityId: string;
  readonly idp: RawIdp;
  readonly idpEntityId?: string;
  readonly nameIdFormat?: string;
  readonly spPrivateKey?: SecretSpec;
  readonly spCertificateFile?: string;
  readonly signAuthnRequests?: boolean;
  readonly requireSignature?: SignatureRequirement;
  readonly clockSkewSeconds?: number;
  readonly loginTimeoutSeconds?: number;
  readonly allowIdpInitiated?: boolean;
  readonly acsMaxBytes?: number;
  readonly bodyTimeoutSeconds?: number;
  readonly maxLoginStartsPerClientPerMinute?: number;
  readonly maxMessageBytes?: number;
  readonly forceAuthn?: boolean;
  readonly maxSessionAgeSeconds?: number;
  readonly requireSsoSession?: boolean;
  readonly forceAuthnOnReauth?: boolean;
  readonly metadataTimeoutMs?: number;
  readonly metadataRefreshSeconds?: number;
}

/** A configuration without problems, with the secret and PEM texts it refers to already read. */
export interface ValidatedConfig {
  readonly raw: RawConfig;
  readonly configDir: string;
  readonly stateSecret: string;
  readonly crowdApplicationPassword: string;
  readonly spPrivateKey: string | undefined;
  readonly spCertificate: string | undefined;
  readonly idpSigningCerts: readonly string[];
  readonly redisPassword: string | undefined;
  /** apps[i].emergencyAccess.secretHeader.value, by app index. */
  readonly emergencySecrets: readonly (string | undefined)[];
  /** apps[i].crowdApplication.password, by app index. */
  readonly appCrowdPasswords: readonly (string | undefined)[];
}

export interface ValidateConfigOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory of the configuration file; relative paths are resolved against it. */
  readonly configDir: string;
}

const MIN_STATE_SECRET_LENGTH = 32;

/**
 * Schema validation, then what the schema cannot express: URLs, addresses, unique hosts and names,
 * secrets, readable files and parseable PEMs. Throws one ConfigError listing every problem.
 */
export async function validateConfig(data: unknown, options: ValidateConfigOptions): Promise<ValidatedConfig> {
  const schema = await validateSchema(data);
  const problems: ConfigProblem[] = [...schema.problems];
  const report = (path: string, message: string): void => {
    problems.push({ path, message });
  };
  const context: SecretContext = { env: options.env, baseDir: options.configDir };
  const read = async (spec: SecretSpec | undefined, path: string): Promise<string | undefined> => {
    if (spec === undefined) return undefined;
    const result = await resolveSecret(spec, path, context);
    if (result.kind === 'value') return result.value;
    problems.push(result.problem);
    return undefined;
  };

  const tls = schema.validAt<RawTls>('listen', 'tls');
  if (tls !== undefined) {
    const certificate = certificateFrom(await read({ file: tls.certFile }, 'listen.tls.certFile'), 'listen.tls.certFile', report);
    const key = privateKeyFrom(await read({ file: tls.keyFile }, 'listen.tls.keyFile'), 'listen.tls.keyFile', report);
    if (certificate !== undefined && key !== undefined && !belongTogether(certificate, key)) {
      report('listen.tls.keyFile', 'does not belong to the certificate in listen.tls.certFile');
    }
  }
  (schema.validAt<readonly string[]>('trustedProxies') ?? []).forEach((entry, i) => {
    if (!isAddressOrRange(entry)) report(`trustedProxies[${i}]`, 'not an IP address or CIDR range, e.g. "10.0.0.5" or "10.0.0.0/8"');
  });
  checkApps(schema, report);
  checkIdentityConfig(schema, report);
  checkHttpsExtras(schema, report);
  const workers = schema.validAt<number>('workers');
  if (schema.validAt<boolean>('saml', 'requireSsoSession') === true && workers !== undefined && workers !== 1 && schema.rawAt('store', 'redis') === undefined) {
    report(
      'saml.requireSsoSession',
      `needs store.redis when workers is ${workers}: each worker would know only its own logins, send the others' users back to the IdP, and loop. Set store.redis, or workers to 1`,
    );
  }
  const adminPort = schema.validAt<number>('admin', 'port');
  const listenPort = resolveListenPort(schema.validAt<number>('listen', 'port'), schema.rawAt('listen', 'tls') !== undefined);
  if (adminPort !== undefined && adminPort !== 0 && adminPort === listenPort) {
    report('admin.port', `must differ from listen.port (${listenPort}): the admin listener is a separate port, never reachable through the app hosts`);
  }

  const stateSecret = await read(schema.validAt<SecretSpec>('stateSecret'), 'stateSecret');
  if (stateSecret !== undefined && stateSecret.length < MIN_STATE_SECRET_LENGTH) {
    report('stateSecret', `must be at least ${MIN_STATE_SECRET_LENGTH} characters long; generate one with: openssl rand -base64 48`);
  }
  checkHttpUrl(schema.validAt<string>('crowd', 'baseUrl'), 'crowd.baseUrl', report);
  const crowdApplicationPassword = await read(schema.validAt<SecretSpec>('crowd', 'applicationPassword'), 'crowd.applicationPassword');
  const proxyAddress = schema.validAt<string>('crowd', 'validationFactors', 'proxyAddress');
  if (proxyAddress !== undefined && isIP(proxyAddress) === 0) {
    report('crowd.validationFactors.proxyAddress', 'not an IP address; use the address the applications see the proxy connect from');
  }

  const idpSigningCerts = await checkIdp(schema, read, report);
  const sp = await checkSpKeys(schema, read, report);
  const redis = await validateRedisStore(schema, read, report);
  const access = await validateAppRules(schema, read, report);
  const appCount = Array.isArray(schema.rawAt('apps')) ? (schema.rawAt('apps') as unknown[]).length : 0;
  const appCrowdPasswords: (string | undefined)[] = [];
  for (let i = 0; i < appCount; i++) {
    appCrowdPasswords.push(await read(schema.validAt<SecretSpec>('apps', i, 'crowdApplication', 'password'), `apps[${i}].crowdApplication.password`));
  }
  checkHttpUrl(schema.validAt<string>('logout', 'redirectUrl'), 'logout.redirectUrl', report);

  // Both secrets are required by the schema, so without problems they have been read.
  if (problems.length > 0 || stateSecret === undefined || crowdApplicationPassword === undefined) {
    throw new ConfigError(problems);
  }
  return {
    raw: data as RawConfig,
    configDir: options.configDir,
    stateSecret,
    crowdApplicationPassword,
    spPrivateKey: sp.privateKey,
    spCertificate: sp.certificate,
    idpSigningCerts,
    redisPassword: redis.password,
    emergencySecrets: access.emergencySecrets,
    appCrowdPasswords,
  };
}

type Report = (path: string, message: string) => void;
type Read = (spec: SecretSpec | undefined, path: string) => Promise<string | undefined>;

function checkApps(schema: SchemaValidation, report: Report): void {
  const apps = schema.rawAt('apps');
  const count = Array.isArray(apps) ? apps.length : 0;
  const publicScheme = resolvePublicScheme(schema.validAt('publicScheme'), schema.rawAt('listen', 'tls') !== undefined);
  const nameOwner = new Map<string, number>();
  const hostOwner = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const name = schema.validAt<string>('apps', i, 'name');
    if (name !== undefined) {
      const owner = nameOwner.get(name);
      if (owner === undefined) nameOwner.set(name, i);
      else report(`apps[${i}].name`, `"${name}" is already the name of apps[${owner}]`);
    }
    (schema.validAt<readonly string[]>('apps', i, 'hosts') ?? []).forEach((host, j) => {
      const path = `apps[${i}].hosts[${j}]`;
      const port = /:(\d+)$/.exec(host)?.[1];
      if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
        report(path, 'the port must be between 1 and 65535');
        return;
      }
      const normalized = normalizeHost(host, publicScheme);
      const owner = hostOwner.get(normalized);
      if (owner === undefined) hostOwner.set(normalized, name ?? `apps[${i}]`);
      else report(path, `"${normalized}" is already routed to app "${owner}"; each host belongs to one app`);
    });
    checkHttpUrl(schema.validAt<string>('apps', i, 'upstream'), `apps[${i}].upstream`, report);
  }
}

/** listen.httpRedirect and listen.hsts belong to a proxy that serves HTTPS itself; saml.metadataRefreshSeconds to a metadata URL. */
function checkHttpsExtras(schema: SchemaValidation, report: Report): void {
  const hasTls = schema.rawAt('listen', 'tls') !== undefined;
  if (schema.rawAt('listen', 'httpRedirect') !== undefined) {
    if (!hasTls) {
      report('listen.httpRedirect', 'redirects to HTTPS served by this proxy, so it needs listen.tls; behind a load balancer that terminates TLS, let the load balancer redirect');
    } else if (schema.validAt('publicScheme') === 'http') {
      report('listen.httpRedirect', 'redirects browsers to https, but publicScheme is "http"; remove one of the two');
    }
    const redirectPort = schema.validAt<number>('listen', 'httpRedirect', 'port');
    const listenPort = resolveListenPort(schema.validAt<number>('listen', 'port'), hasTls);
    if (redirectPort !== undefined && redirectPort !== 0 && redirectPort === listenPort) {
      report('listen.httpRedirect.port', `must differ from listen.port (${listenPort}), which serves HTTPS`);
    }
  }
  if (schema.rawAt('listen', 'hsts') !== undefined && !hasTls) {
    report('listen.hsts', 'browsers honour Strict-Transport-Security only over HTTPS, so it needs listen.tls; behind a load balancer that terminates TLS, set the header there');
  }
  if (schema.rawAt('saml', 'metadataRefreshSeconds') !== undefined && schema.rawAt('saml', 'idp', 'metadataUrl') === undefined) {
    report('saml.metadataRefreshSeconds', 'only used with saml.idp.metadataUrl (a metadata file or manual settings are read again on reload)');
  }
}

async function checkIdp(schema: SchemaValidation, read: Read, report: Report): Promise<string[]> {
  const metadataUrl = schema.validAt<string>('saml', 'idp', 'metadataUrl');
  const url = checkHttpUrl(metadataUrl, 'saml.idp.metadataUrl', report);
  if (url?.protocol === 'http:' && !isLoopback(url.hostname)) {
    report('saml.idp.metadataUrl', 'must use https: the metadata carries the certificates the proxy trusts (http is accepted for localhost only)');
  }
  const metadataFile = schema.validAt<string>('saml', 'idp', 'metadataFile');
  await read(metadataFile === undefined ? undefined : { file: metadataFile }, 'saml.idp.metadataFile');
  checkHttpUrl(schema.validAt<string>('saml', 'idp', 'ssoUrl'), 'saml.idp.ssoUrl', report);
  checkHttpUrl(schema.validAt<string>('saml', 'idp', 'sloUrl'), 'saml.idp.sloUrl', report);

  const certs: string[] = [];
  const specs = schema.validAt<readonly SecretSpec[]>('saml', 'idp', 'signingCerts') ?? [];
  for (const [i, spec] of specs.entries()) {
    const path = `saml.idp.signingCerts[${i}]`;
    const pem = await read(spec, path);
    if (certificateFrom(pem, path, report) !== undefined && pem !== undefined) certs.push(pem);
  }
  return certs;
}

async function checkSpKeys(
  schema: SchemaValidation,
  read: Read,
  report: Report,
): Promise<{ privateKey: string | undefined; certificate: string | undefined }> {
  const privateKey = await read(schema.validAt<SecretSpec>('saml', 'spPrivateKey'), 'saml.spPrivateKey');
  const key = privateKeyFrom(privateKey, 'saml.spPrivateKey', report);
  if (key !== undefined && key.asymmetricKeyType !== 'rsa') {
    report('saml.spPrivateKey', `must be an RSA private key (AuthnRequests are signed with RSA-SHA256), not ${String(key.asymmetricKeyType)}`);
  }
  const certificateFile = schema.validAt<string>('saml', 'spCertificateFile');
  const certificate = await read(certificateFile === undefined ? undefined : { file: certificateFile }, 'saml.spCertificateFile');
  const parsed = certificateFrom(certificate, 'saml.spCertificateFile', report);
  if (parsed !== undefined && key !== undefined && !belongTogether(parsed, key)) {
    report('saml.spCertificateFile', 'does not belong to saml.spPrivateKey');
  }

  const hasKey = schema.rawAt('saml', 'spPrivateKey') !== undefined;
  const signs = schema.validAt<boolean>('saml', 'signAuthnRequests') ?? hasKey;
  if (signs && !hasKey) report('saml.spPrivateKey', 'missing; signing AuthnRequests (saml.signAuthnRequests) needs the SP private key');
  if (signs && schema.rawAt('saml', 'spCertificateFile') === undefined) {
    report('saml.spCertificateFile', 'missing; AuthnRequests are signed, and the IdP verifies them with this certificate from the SP metadata');
  }
  return { privateKey, certificate };
}

/** Parses `text` as an http(s) URL, reporting why it is not one. */
function checkHttpUrl(text: string | undefined, path: string, report: Report): URL | undefined {
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    report(path, 'not a URL');
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    report(path, 'must start with http:// or https://');
    return undefined;
  }
  return url;
}

function certificateFrom(pem: string | undefined, path: string, report: Report): X509Certificate | undefined {
  if (pem === undefined) return undefined;
  try {
    return new X509Certificate(pem);
  } catch {
    report(path, 'not a PEM certificate (expected "-----BEGIN CERTIFICATE-----")');
    return undefined;
  }
}

function privateKeyFrom(pem: string | undefined, path: string, report: Report): KeyObject | undefined {
  if (pem === undefined) return undefined;
  try {
    return createPrivateKey(pem);
  } catch (error) {
    const encrypted = typeof error === 'object' && error !== null && 'code' in error && error.code === 'ERR_MISSING_PASSPHRASE';
    report(
      path,
      encrypted
        ? 'the private key is encrypted; provide it unencrypted (openssl pkey -in encrypted.pem -out key.pem)'
        : 'not a PEM private key (expected "-----BEGIN PRIVATE KEY-----" or "-----BEGIN RSA PRIVATE KEY-----")',
    );
    return undefined;
  }
}

function belongTogether(certificate: X509Certificate, key: KeyObject): boolean {
  try {
    return certificate.checkPrivateKey(key);
  } catch {
    return false;
  }
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}
