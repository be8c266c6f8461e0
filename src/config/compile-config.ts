import { isIP } from 'node:net';
import { resolve } from 'node:path';
import type { RawRedisStore } from './validate-redis-store.js';
import { compileAppRules, type AppRulesDefaults } from './compile-app-rules.js';
import { compileAccessRestriction, compileIdentityConfig, IDENTITY_DEFAULTS } from './identity-config.js';
import type { AppConfig, IdpSource, ListenConfig, RedisStoreConfig, RuntimeConfig } from './runtime-config.js';
import type { RawApp, RawConfig, RawHsts, RawIdp, ValidatedConfig } from './validate-config.js';
import { normalizeHost, resolveListenPort, resolvePublicScheme } from './host-and-port.js';

/**
 * Defaults by key path (`apps[]` = every entry of `apps`). They equal the `default`s of the JSON Schema;
 * a unit test holds the two together.
 */
export const CONFIG_DEFAULTS = {
  'listen.host': '0.0.0.0',
  'listen.hsts.maxAgeSeconds': 31_536_000,
  'listen.hsts.includeSubDomains': false,
  'listen.headersTimeoutSeconds': 20,
  'listen.keepAliveTimeoutSeconds': 65,
  shutdownGraceSeconds: 25,
  watchConfig: false,
  workers: 1,
  pathPrefix: '/_sso',
  mode: 'enforce',
  'logout.suppressLoginSeconds': 60,
  trustedProxies: [],
  logLevel: 'info',
  logFormat: 'json',
  accessLog: true,
  'admin.host': '127.0.0.1',
  'store.redis.keyPrefix': 'crowd-sso-proxy:',
  'store.redis.connectTimeoutMs': 2000,
  'store.redis.commandTimeoutMs': 1000,
  'apps[].startPath': '/',
  'apps[].upstreamTimeoutSeconds': 300,
  'apps[].passCrowdCookieFromCredentials': false,
  'apps[].requiredAuthnContext.comparison': 'exact',
  'crowd.timeoutMs': 5000,
  'crowd.cacheTtlSeconds': 60,
  'crowd.negativeCacheTtlSeconds': 5,
  'crowd.cacheMaxEntries': 100_000,
  'crowd.maxValidationsInFlightPerClient': 4,
  'crowd.maxValidationsPerClientPerSecond': 10,
  'crowd.cookieConfigTtlSeconds': 300,
  'crowd.validationFactors': { mode: 'client-ip' },
  'saml.nameIdFormat': 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
  'saml.requireSignature': 'either',
  'saml.clockSkewSeconds': 60,
  'saml.loginTimeoutSeconds': 600,
  'saml.allowIdpInitiated': false,
  'saml.acsMaxBytes': 262_144,
  'saml.bodyTimeoutSeconds': 20,
  'saml.maxLoginStartsPerClientPerMinute': 300,
  'saml.maxMessageBytes': 524_288,
  'saml.forceAuthn': false,
  'saml.forceAuthnOnReauth': false,
  'saml.requireSsoSession': false,
  'saml.metadataTimeoutMs': 10_000,
  'saml.metadataRefreshSeconds': 3600,
  ...IDENTITY_DEFAULTS,
} as const;

/** A validated configuration → the frozen RuntimeConfig: defaults applied, seconds → ms, paths absolute. */
export function compileConfig(validated: ValidatedConfig): RuntimeConfig {
  const { raw, configDir } = validated;
  const { crowd, saml } = raw;
  const tlsFiles = raw.listen?.tls;
  const tls = tlsFiles === undefined ? undefined : { certFile: resolve(configDir, tlsFiles.certFile), keyFile: resolve(configDir, tlsFiles.keyFile) };
  const publicScheme = resolvePublicScheme(raw.publicScheme, tls !== undefined);
  const config: RuntimeConfig = {
    listen: {
      host: raw.listen?.host ?? CONFIG_DEFAULTS['listen.host'],
      port: resolveListenPort(raw.listen?.port, tls !== undefined),
      tls,
      httpRedirect: compileHttpRedirect(raw.listen),
      hsts: compileHsts(raw.listen?.hsts),
      headersTimeoutMs: secondsToMs(raw.listen?.headersTimeoutSeconds ?? CONFIG_DEFAULTS['listen.headersTimeoutSeconds']),
      keepAliveTimeoutMs: secondsToMs(raw.listen?.keepAliveTimeoutSeconds ?? CONFIG_DEFAULTS['listen.keepAliveTimeoutSeconds']),
      maxConnections: raw.listen?.maxConnections,
    },
    publicScheme,
    pathPrefix: raw.pathPrefix ?? CONFIG_DEFAULTS.pathPrefix,
    trustedProxies: (raw.trustedProxies ?? CONFIG_DEFAULTS.trustedProxies).map(toCidr),
    stateSecret: new TextEncoder().encode(validated.stateSecret),
    apps: raw.apps.map((app, index) => compileApp(app, publicScheme, index, validated)),
    mode: raw.mode ?? CONFIG_DEFAULTS.mode,
    logout: {
      redirectUrl: raw.logout?.redirectUrl,
      suppressLoginMs: secondsToMs(raw.logout?.suppressLoginSeconds ?? CONFIG_DEFAULTS['logout.suppressLoginSeconds']),
    },
    crowd: {
      baseUrl: new URL(crowd.baseUrl).href.replace(/\/+$/, ''),
      applicationName: crowd.applicationName,
      applicationPassword: validated.crowdApplicationPassword,
      timeoutMs: crowd.timeoutMs ?? CONFIG_DEFAULTS['crowd.timeoutMs'],
      cacheTtlMs: secondsToMs(crowd.cacheTtlSeconds ?? CONFIG_DEFAULTS['crowd.cacheTtlSeconds']),
      negativeCacheTtlMs: secondsToMs(crowd.negativeCacheTtlSeconds ?? CONFIG_DEFAULTS['crowd.negativeCacheTtlSeconds']),
      cacheMaxEntries: crowd.cacheMaxEntries ?? CONFIG_DEFAULTS['crowd.cacheMaxEntries'],
      maxValidationsInFlightPerClient: crowd.maxValidationsInFlightPerClient ?? CONFIG_DEFAULTS['crowd.maxValidationsInFlightPerClient'],
      maxValidationsPerClientPerSecond: crowd.maxValidationsPerClientPerSecond ?? CONFIG_DEFAULTS['crowd.maxValidationsPerClientPerSecond'],
      cookieConfigTtlMs: secondsToMs(crowd.cookieConfigTtlSeconds ?? CONFIG_DEFAULTS['crowd.cookieConfigTtlSeconds']),
      cookie: { name: crowd.cookie?.name, domain: crowd.cookie?.domain, secure: crowd.cookie?.secure },
      validationFactors: crowd.validationFactors ?? CONFIG_DEFAULTS['crowd.validationFactors'],
      sessionDurationSeconds: crowd.sessionDurationSeconds,
    },
    saml: {
      spEntityId: saml.spEntityId,
      idp: compileIdp(saml.idp, validated),
      idpEntityId: saml.idpEntityId,
      nameIdFormat: saml.nameIdFormat ?? CONFIG_DEFAULTS['saml.nameIdFormat'],
      spPrivateKey: validated.spPrivateKey,
      spCertificate: validated.spCertificate,
      signAuthnRequests: saml.signAuthnRequests ?? validated.spPrivateKey !== undefined,
      requireSignature: saml.requireSignature ?? CONFIG_DEFAULTS['saml.requireSignature'],
      clockSkewMs: secondsToMs(saml.clockSkewSeconds ?? CONFIG_DEFAULTS['saml.clockSkewSeconds']),
      loginTimeoutMs: secondsToMs(saml.loginTimeoutSeconds ?? CONFIG_DEFAULTS['saml.loginTimeoutSeconds']),
      allowIdpInitiated: saml.allowIdpInitiated ?? CONFIG_DEFAULTS['saml.allowIdpInitiated'],
      acsMaxBodyBytes: saml.acsMaxBytes ?? CONFIG_DEFAULTS['saml.acsMaxBytes'],
      bodyTimeoutMs: secondsToMs(saml.bodyTimeoutSeconds ?? CONFIG_DEFAULTS['saml.bodyTimeoutSeconds']),
      maxLoginStartsPerClientPerMinute: saml.maxLoginStartsPerClientPerMinute ?? CONFIG_DEFAULTS['saml.maxLoginStartsPerClientPerMinute'],
      maxMessageBytes: saml.maxMessageBytes ?? CONFIG_DEFAULTS['saml.maxMessageBytes'],
      forceAuthn: saml.forceAuthn ?? CONFIG_DEFAULTS['saml.forceAuthn'],
      maxSessionAgeMs: saml.maxSessionAgeSeconds === undefined ? undefined : secondsToMs(saml.maxSessionAgeSeconds),
      requireSsoSession: saml.requireSsoSession ?? CONFIG_DEFAULTS['saml.requireSsoSession'],
      forceAuthnOnReauth: saml.forceAuthnOnReauth ?? CONFIG_DEFAULTS['saml.forceAuthnOnReauth'],
      metadataTimeoutMs: saml.metadataTimeoutMs ?? CONFIG_DEFAULTS['saml.metadataTimeoutMs'],
      metadataRefreshMs: secondsToMs(saml.metadataRefreshSeconds ?? CONFIG_DEFAULTS['saml.metadataRefreshSeconds']),
    },
    identity: compileIdentityConfig(raw.identity),
    logLevel: raw.logLevel ?? CONFIG_DEFAULTS.logLevel,
    shutdownGraceMs: secondsToMs(raw.shutdownGraceSeconds ?? CONFIG_DEFAULTS.shutdownGraceSeconds),
    watchConfig: raw.watchConfig ?? CONFIG_DEFAULTS.watchConfig,
    workers: raw.workers ?? CONFIG_DEFAULTS.workers,
    logFormat: raw.logFormat ?? CONFIG_DEFAULTS.logFormat,
    accessLog: raw.accessLog ?? CONFIG_DEFAULTS.accessLog,
    admin: raw.admin === undefined ? undefined : { host: raw.admin.host ?? CONFIG_DEFAULTS['admin.host'], port: raw.admin.port },
    store: { redis: compileRedisStore(raw.store?.redis, validated.redisPassword) },
    configDir,
  };
  return deepFreeze(config);
}

function compileHttpRedirect(listen: RawConfig['listen']): ListenConfig['httpRedirect'] {
  const redirect = listen?.httpRedirect;
  if (redirect === undefined) return undefined;
  return { host: redirect.host ?? listen?.host ?? CONFIG_DEFAULTS['listen.host'], port: redirect.port };
}

function compileHsts(hsts: RawHsts | undefined): ListenConfig['hsts'] {
  if (hsts === undefined) return undefined;
  return {
    maxAgeSeconds: hsts.maxAgeSeconds ?? CONFIG_DEFAULTS['listen.hsts.maxAgeSeconds'],
    includeSubDomains: hsts.includeSubDomains ?? CONFIG_DEFAULTS['listen.hsts.includeSubDomains'],
  };
}

function compileRedisStore(redis: RawRedisStore | undefined, password: string | undefined): RedisStoreConfig | undefined {
  if (redis === undefined) return undefined;
  return {
    url: redis.url,
    keyPrefix: redis.keyPrefix ?? CONFIG_DEFAULTS['store.redis.keyPrefix'],
    password,
    tls: redis.tls ?? new URL(redis.url).protocol === 'rediss:',
    connectTimeoutMs: redis.connectTimeoutMs ?? CONFIG_DEFAULTS['store.redis.connectTimeoutMs'],
    commandTimeoutMs: redis.commandTimeoutMs ?? CONFIG_DEFAULTS['store.redis.commandTimeoutMs'],
  };
}

function compileApp(app: RawApp, publicScheme: 'http' | 'https', index: number, validated: ValidatedConfig): AppConfig {
  const defaults: AppRulesDefaults = {
    mode: validated.raw.mode ?? CONFIG_DEFAULTS.mode,
    comparison: CONFIG_DEFAULTS['apps[].requiredAuthnContext.comparison'],
  };
  return {
    ...compileAppRules(app, index, defaults, validated.emergencySecrets[index]),
    name: app.name,
    hosts: app.hosts.map((host) => normalizeHost(host, publicScheme)),
    upstream: new URL(app.upstream),
    startPath: app.startPath ?? CONFIG_DEFAULTS['apps[].startPath'],
    upstreamTimeoutMs: secondsToMs(app.upstreamTimeoutSeconds ?? CONFIG_DEFAULTS['apps[].upstreamTimeoutSeconds']),
    passCrowdCookieFromCredentials: app.passCrowdCookieFromCredentials ?? CONFIG_DEFAULTS['apps[].passCrowdCookieFromCredentials'],
    crowdApplication:
      app.crowdApplication === undefined ? undefined : { name: app.crowdApplication.name, password: validated.appCrowdPasswords[index] as string },
    access: compileAccessRestriction(app.access),
  };
}

function compileIdp(idp: RawIdp, validated: ValidatedConfig): IdpSource {
  if ('metadataUrl' in idp) return { kind: 'metadata-url', url: idp.metadataUrl };
  if ('metadataFile' in idp) return { kind: 'metadata-file', path: resolve(validated.configDir, idp.metadataFile) };
  return { kind: 'manual', entityId: idp.entityId, ssoUrl: idp.ssoUrl, sloUrl: idp.sloUrl, signingCerts: validated.idpSigningCerts };
}

/** `10.0.0.5` → `10.0.0.5/32`, `::1` → `::1/128`; ranges stay as written. */
function toCidr(entry: string): string {
  if (entry.includes('/')) return entry;
  return `${entry}/${isIP(entry) === 4 ? 32 : 128}`;
}

function secondsToMs(seconds: number): number {
  return seconds * 1000;
}

/** Freezes plain objects and arrays all the way down; URL and Uint8Array instances keep their own state. */
function deepFreeze<T>(value: T): T {
  if (Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype) {
    for (const child of Object.values(value as object)) {
      if (typeof child === 'object' && child !== null) deepFreeze(child);
    }
    Object.freeze(value);
  }
  return value;
}
