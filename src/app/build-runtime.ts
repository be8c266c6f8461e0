/**
 * The composition root's per-configuration part (src/app.ts holds the process-wide part: listeners, logger, stores):
 * everything built from one configuration — adapters, flows, the request handler. A reload builds a new Runtime and
 * swaps it in; the listening server, the logger and the shared stores outlive it.
 */
import { buildAccessControl } from './build-access-control.js';
import type { AppConfig, CrowdConfig, RuntimeConfig } from '../config/runtime-config.js';
import { createCrowdClient } from '../crowd/crowd-client.js';
import { createGroupCache } from '../crowd/group-cache.js';
import { createAppSessionCheck } from '../crowd/app-session-check.js';
import { createTokenValidator } from '../crowd/token-validator.js';
import { createValidationBudget, UNKNOWN_TOKEN_CONNECTIONS, UNKNOWN_TOKEN_WAITING, type ValidationRefusal } from '../crowd/validation-budget.js';
import { computeValidationFactors } from '../crowd/validation-factors.js';
import { createAuthenticator } from '../flows/authenticate.js';
import { createLoginCompleter } from '../flows/complete-login.js';
import { createAccessEnforcer } from '../flows/enforce-access-restriction.js';
import { createIdentityEstablisher } from '../flows/establish-identity.js';
import type { ForwardRequestSite } from '../flows/forward-request.js';
import type { FactorSet } from '../flows/ports.js';
import { createLoginStarter } from '../flows/start-login.js';
import { createRequestHandler, type Readiness, type RequestHandler } from '../http/request-handler.js';
import { createHttpsRedirect } from '../http/https-redirect.js';
import { signInLink } from '../http/logout-responses.js';
import { respondError } from '../http/respond.js';
import { createSessionRefusalHandler } from '../http/session-refusal.js';
import { createLoginStartBudget } from '../http/login-start-budget.js';
import { createRequestObserver } from '../http/request-observer.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { strictTransportSecurity, withStrictTransportSecurity } from '../http/strict-transport-security.js';
import {
  loginBindingCookieName,
  loginBindingCookieShape,
  serializeLoginBinding,
  serializeLoginBindingClear,
  type LoginBindingCookieShape,
} from '../policy/login-binding-cookie.js';
import { budgetKey } from '../policy/address-matcher.js';
import { createReturnUrlPolicy } from '../policy/return-url.js';
import { createRouter } from '../policy/route.js';
import { createClientAddressResolver } from '../proxy/client-address.js';
import { createForwarder } from '../proxy/forwarder.js';
import { createLazyServiceProvider, type IdpMetadataRefresh } from '../saml/lazy-service-provider.js';
import type { IdpInfo } from '../saml/service-provider.js';
import { buildSpMetadataXml } from '../saml/sp-metadata.js';
import { requiresAssertionSignature } from '../saml/signature-requirement.js';
import { createLoginStateSealer, looksSealed } from '../state/login-state-sealer.js';
import type { Stores } from '../state/create-stores.js';

export interface RuntimeDeps {
  readonly logger: Logger;
  /** Shared by every runtime of this process (replay cache, session index). */
  readonly stores: Stores;
  /** Clock for session lifetimes (SessionNotOnOrAfter, saml.maxSessionAgeSeconds) and the token cache; tests inject one. */
  readonly now?: () => number;
  /** The process's metrics (they outlive a reload); undefined when metrics are off. */
  readonly metrics?: Metrics | undefined;
  /** What the main listener speaks; it outlives reloads (switching between HTTP and HTTPS needs a restart). */
  readonly listenerProto: 'http' | 'https';
}

export interface Runtime {
  readonly config: RuntimeConfig;
  readonly handler: RequestHandler;
  /** Handler of the `listen.httpRedirect` listener: 308 to https for the configured hosts. */
  readonly httpsRedirect: RequestHandler;
  /** Crowd and the IdP metadata reachable (what `/ready` answers). */
  readiness(): Promise<Readiness>;
  /** Forgets what is cached about a token whose session another instance (or this one) ended. */
  forgetSession(token: string): void;
  /** Starts background work (IdP metadata load). */
  start(): void;
  /**
   * After a reload: closes the Crowd and IdP clients once requests that started on this configuration are done
   * with them, and resolves when its last WebSocket tunnel has ended. Nothing in flight is cut.
   */
  retire(): Promise<void>;
  /** Releases upstream connections (WebSocket tunnels included), Crowd and IdP clients at once. */
  close(): Promise<void>;
}

/**
 * A retired configuration's Crowd and IdP clients stay usable this long, so that a request that was being
 * authenticated or a login being completed during the reload still finishes (a few Crowd calls at most).
 */
function retireDelayMs(config: RuntimeConfig): number {
  return 10_000 + 3 * config.crowd.timeoutMs;
}

/** Every ACS URL the proxy answers on: one per app host. */
export function acsUrls(config: RuntimeConfig): string[] {
  return config.apps.flatMap((app) => app.hosts.map((host) => `${config.publicScheme}://${host}${config.pathPrefix}/saml/acs`));
}

/** SP metadata XML for the configured hosts (what `metadata` prints and `/_sso/saml/metadata` serves). */
export function renderSpMetadata(config: RuntimeConfig): string {
  return buildSpMetadataXml({
    spEntityId: config.saml.spEntityId,
    nameIdFormat: config.saml.nameIdFormat,
    spCertificate: config.saml.spCertificate,
    signAuthnRequests: config.saml.signAuthnRequests,
    wantAssertionsSigned: requiresAssertionSignature(config.saml.requireSignature),
    acsUrls: acsUrls(config),
    // IdPs take one single logout URL: the first app host's; a logout started on any host comes back there.
    sloUrl: `${config.publicScheme}://${config.apps[0]?.hosts[0] ?? 'localhost'}${config.pathPrefix}/saml/slo`,
  });
}

export function buildRuntime(config: RuntimeConfig, deps: RuntimeDeps): Runtime {
  const { logger, stores, metrics } = deps;
  const crowd = createCrowdClient(config.crowd, { onCall: metrics?.crowdCall });
  const saml = createLazyServiceProvider(config.saml, {
    onLoadError: (error) => {
      metrics?.idpMetadataRefreshFailed();
      logger.error({ err: error }, 'IdP metadata could not be loaded; logins fail with a 502 page until it can (check saml.idp)');
    },
    onRefresh: (result) => {
      if (result.kind === 'failed') metrics?.idpMetadataRefreshFailed();
      logIdpMetadataRefresh(logger, result);
    },
  });
  // Tokens the proxy has not seen valid recently (made-up cookies among them) get a share of Crowd per client address
  // and half of the Crowd connections in all; the other half stays for signed-in users and logins.
  const budget = createValidationBudget({
    maxInFlightPerClient: config.crowd.maxValidationsInFlightPerClient,
    perClientPerSecond: config.crowd.maxValidationsPerClientPerSecond,
    maxInFlight: UNKNOWN_TOKEN_CONNECTIONS,
    maxWaiting: UNKNOWN_TOKEN_WAITING,
    maxWaitMs: config.crowd.timeoutMs,
    clientKey: budgetKey,
    onRefused: (refusal) => {
      metrics?.crowdValidationRefused(refusal.limit);
      if (refusal.warn) logValidationRefused(logger, config.crowd, refusal);
    },
    ...(deps.now === undefined ? {} : { now: deps.now }),
  });
  const tokenValidator = createTokenValidator({
    crowd,
    ttlMs: config.crowd.cacheTtlMs,
    negativeTtlMs: config.crowd.negativeCacheTtlMs,
    maxEntries: config.crowd.cacheMaxEntries,
    budget,
    onLookup: metrics?.tokenCacheLookup,
    ...(deps.now === undefined ? {} : { now: deps.now }),
  });
  // apps[].crowdApplication: each such app's own Crowd application validates sessions as the app does.
  const appClients = config.apps.flatMap((app) => {
    if (app.crowdApplication === undefined) return [];
    const client = createCrowdClient(
      { ...config.crowd, applicationName: app.crowdApplication.name, applicationPassword: app.crowdApplication.password },
      { onCall: metrics?.crowdCall },
    );
    const check = createAppSessionCheck({ crowd: client, ttlMs: config.crowd.cacheTtlMs, maxEntries: config.crowd.cacheMaxEntries, ...(deps.now === undefined ? {} : { now: deps.now }) });
    return [{ app: app.name, crowdApplication: app.crowdApplication.name, client, check }];
  });
  /** apps[].crowdApplication: each app's check, built once (the router hands it over with the app's site). */
  const checkAsApp = (app: AppConfig): ForwardRequestSite['checkAsApp'] => {
    // Decided by the app's own configuration, so an app naming a Crowd application can never go unchecked.
    if (app.crowdApplication === undefined) return undefined;
    const entry = appClients.find((candidate) => candidate.app === app.name);
    if (entry === undefined) throw new TypeError(`no apps[].crowdApplication client was built for app "${app.name}"`);
    const checked = { name: app.name, crowdApplication: entry.crowdApplication };
    return async (user, token, clientIp) => {
      const { factors, cacheKey } = validationFactors(clientIp);
      await entry.check.enforce(checked, user, token, factors, cacheKey);
    };
  };
  // apps[].access: a user's Crowd groups, trusted as long as a token validation.
  const crowdGroups = createGroupCache({ crowd, ttlMs: config.crowd.cacheTtlMs, maxEntries: config.crowd.cacheMaxEntries });
  const accessEnforcer = createAccessEnforcer({ sessions: stores.sessions, crowdGroups });
  const requestMetrics = metrics?.bind({
    apps: config.apps.map((app) => app.name),
    tokenCacheEntries: () => tokenValidator.entries(),
    idpSigningCerts: () => saml.currentIdp()?.signingCerts,
    spCertificate: config.saml.spCertificate,
  });
  // The factors are a function of the client IP alone (for one configuration), so the IP is their cache key.
  const factorsCacheKey = (clientIp: string): string => clientIp;
  const validationFactors = (clientIp: string): FactorSet => ({
    factors: computeValidationFactors(config.crowd.validationFactors, clientIp),
    cacheKey: factorsCacheKey(clientIp),
  });
  const returnUrls = createReturnUrlPolicy({ publicScheme: config.publicScheme, hosts: config.apps.flatMap((app) => app.hosts) });
  const acsUrl = (host: string): string => `${config.publicScheme}://${host}${config.pathPrefix}/saml/acs`;
  const sealer = createLoginStateSealer({ secret: config.stateSecret, ttlMs: config.saml.loginTimeoutMs });
  const metadataXml = renderSpMetadata(config);

  const onSessionRefused = createSessionRefusalHandler({
    logger,
    tokenValidator,
    forgetSession: (token) => forgetSession(token),
    validationFactors,
    factorsMode: JSON.stringify(config.crowd.validationFactors),
    pathPrefix: config.pathPrefix,
    publicScheme: config.publicScheme,
    ...(metrics === undefined ? {} : { onRefused: (app: string) => metrics.appRefusedSession(app) }),
  });
  const forwarder = createForwarder(config.apps, {
    onSessionRefused,
    onUpstreamError: (error, req, res) => {
      respondError(logger, error, req, res, { reqId: String(req.headers['x-request-id'] ?? ''), host: req.headers.host, app: undefined });
    },
    onUpgradeError: (error, req) => {
      logger.warn({ host: req.headers.host, code: error.code, reason: error.reason }, error.message);
    },
  });

  const readiness = async (): Promise<Readiness> => {
    const [crowdCheck, idpCheck, storeCheck] = await Promise.allSettled([crowd.checkConnection(), saml.checkReady(), stores.check()]);
    const describe = (result: PromiseSettledResult<unknown>): string => (result.status === 'fulfilled' ? 'ok' : (result.reason as Error).message);
    return {
      // Redis down does not make the instance unready: signed-in users keep working (README, "Several instances").
      ok: crowdCheck.status === 'fulfilled' && idpCheck.status === 'fulfilled',
      checks: {
        crowd: describe(crowdCheck),
        idp: describe(idpCheck),
        store: storeCheck.status === 'fulfilled' ? 'ok' : 'unavailable: logins are refused until the store answers (see the log)',
      },
    };
  };

  const authenticator = createAuthenticator({ tokenValidator, validationFactors, factorsCacheKey });
  const bindingShape = (host: string): LoginBindingCookieShape => loginBindingCookieShape(config.publicScheme, host, config.pathPrefix, config.saml.loginTimeoutMs);
  const loginStartBudget = createLoginStartBudget({
    perMinute: config.saml.maxLoginStartsPerClientPerMinute,
    burst: Math.max(10, Math.floor(config.saml.maxLoginStartsPerClientPerMinute / 5)),
    ...(deps.now === undefined ? {} : { now: deps.now }),
  });
  const loginStarter = createLoginStarter({
    saml,
    sealer,
    acsUrl,
    forceAuthn: config.saml.forceAuthn,
    bindingCookie: (host, id, nonce) => serializeLoginBinding(bindingShape(host), id, nonce),
  });
  const access = buildAccessControl(config, {
    logger,
    crowd,
    tokenValidator,
    saml,
    sealer,
    replay: stores.replay,
    sessions: stores.sessions,
    authenticator,
    accessEnforcer,
    checkAsApp,
    loginStarter,
    loginStartBudget,
    returnUrls,
    forwarder,
    announceEnded: (token) => stores.sessionEvents.publishEnded(token),
    ...(deps.now === undefined ? {} : { now: deps.now }),
  });

  const handler = createRequestHandler({
    logger,
    publicScheme: config.publicScheme,
    listenerProto: deps.listenerProto,
    formLimits: { maxBodyBytes: config.saml.acsMaxBodyBytes, timeoutMs: config.saml.bodyTimeoutMs },
    pathPrefix: config.pathPrefix,
    router: createRouter(access.sites, config.pathPrefix),
    returnUrls,
    resolveClient: createClientAddressResolver(config.trustedProxies),
    loginStarter,
    loginStartBudget,
    loginCompleter: createLoginCompleter({
      saml,
      sealer,
      replay: stores.replay,
      sessions: stores.sessions,
      crowd: {
        // A session created here is no unknown token: its first validation is not held to the client's budget.
        createSession: async (username, factors, durationSeconds) => {
          const session = await crowd.createSession(username, factors, durationSeconds);
          tokenValidator.markValid(session.token);
          return session;
        },
        getCookieConfig: () => crowd.getCookieConfig(),
      },
      returnUrls,
      acsUrl,
      allowIdpInitiated: config.saml.allowIdpInitiated,
      identity: createIdentityEstablisher({ identity: config.identity, crowd, crowdGroups }),
      access: accessEnforcer,
      validationFactors,
      sessionDurationSeconds: config.crowd.sessionDurationSeconds,
      maxSessionAgeMs: config.saml.maxSessionAgeMs,
      looksSealed,
      bindingCookie: { name: loginBindingCookieName, clear: (host, id) => serializeLoginBindingClear(bindingShape(host), id) },
      signInUrl: (_host, returnUrl) => signInLink(config.pathPrefix, returnUrl),
      clockSkewMs: config.saml.clockSkewMs,
      ...(deps.now === undefined ? {} : { now: deps.now }),
    }),
    appGate: access.gate,
    slo: access.slo,
    cookieConfig: () => crowd.getCookieConfig(),
    metadataXml: () => metadataXml,
    readiness,
    observer: createRequestObserver({ logger, accessLog: config.accessLog, metrics: requestMetrics }),
  });

  /** A session ended (logout here or elsewhere, or Crowd no longer knows it): every cached answer about it goes. */
  function forgetSession(token: string): void {
    tokenValidator.forget(token);
    access.forgetSession(token);
    for (const entry of appClients) entry.check.forget(token);
  }

  const hsts = deps.listenerProto === 'https' && config.listen.hsts !== undefined ? strictTransportSecurity(config.listen.hsts) : undefined;

  return {
    config,
    handler: hsts === undefined ? handler : withStrictTransportSecurity(handler, hsts),
    httpsRedirect: createHttpsRedirect({ hosts: config.apps.flatMap((app) => app.hosts), healthPath: `${config.pathPrefix}/health`, logger }),
    readiness,
    forgetSession,
    start: () => saml.warmUp(),
    retire: async () => {
      await new Promise((resolve) => setTimeout(resolve, retireDelayMs(config)).unref());
      await Promise.allSettled([crowd.close(), saml.close(), ...appClients.map((entry) => entry.client.close())]);
      await forwarder.tunnelsClosed();
    },
    close: async () => {
      await Promise.allSettled([forwarder.close(), crowd.close(), saml.close(), ...appClients.map((entry) => entry.client.close())]);
    },
  };
}

/** At most one line per client address a minute (validation-budget.ts): which limit, and what to do about it. */
function logValidationRefused(logger: Logger, crowd: CrowdConfig, refusal: ValidationRefusal): void {
  const why = {
    client_in_flight: `it already had crowd.maxValidationsInFlightPerClient (${crowd.maxValidationsInFlightPerClient}) such validations under way`,
    client_rate: `it used up crowd.maxValidationsPerClientPerSecond (${crowd.maxValidationsPerClientPerSecond})`,
    all_clients: `the ${UNKNOWN_TOKEN_CONNECTIONS} Crowd connections for such tokens were busy and ${UNKNOWN_TOKEN_WAITING} more were waiting, or it waited crowd.timeoutMs`,
  }[refusal.limit];
  logger.warn(
    { reason: 'crowd_validations_refused', limit: refusal.limit, clientIp: refusal.client, refusedSinceWarn: refusal.refusedSinceWarn },
    `Crowd was not asked about a token from ${refusal.client} that was not valid recently: ${why}. The request was answered as ` +
      'without a session (sign-in page or 401); tokens valid recently are not limited. Made-up cookies look like this. If many ' +
      'users share this address (a NAT, or a front proxy missing from trustedProxies), raise the limit. Further refusals for ' +
      'this address are counted in crowd_sso_proxy_crowd_validations_refused_total and logged again in a minute at the earliest.',
  );
}

/** One line per periodic IdP metadata refresh; certificates by subject, expiry and SHA-256 fingerprint. */
function logIdpMetadataRefresh(logger: Logger, result: IdpMetadataRefresh): void {
  const certs = (idp: IdpInfo): object[] =>
    idp.signingCerts.map((cert) => ({ subject: cert.subject, notAfter: cert.notAfter.toISOString(), fingerprintSha256: cert.fingerprintSha256 }));
  switch (result.kind) {
    case 'unchanged':
      logger.debug({ idp: result.idp.entityId }, 'IdP metadata refreshed: unchanged');
      return;
    case 'changed':
      logger.info(
        { idp: result.idp.entityId, ssoUrl: result.idp.ssoUrl, signingCerts: certs(result.idp), previousSigningCerts: certs(result.previous) },
        'IdP metadata refreshed: changed; only the signing certificates it lists now are trusted',
      );
      return;
    case 'failed':
      logger.error(
        { err: result.error, idp: result.idp.entityId, signingCerts: certs(result.idp), retryInSeconds: result.retryInMs / 1000 },
        'IdP metadata refresh failed; the metadata loaded before stays in use (check saml.idp.metadataUrl)',
      );
  }
}
