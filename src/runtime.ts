/**
 * Everything built from one configuration: adapters, flows, the request handler. A reload builds a new
 * Runtime and swaps it in; the listening server, the logger and the shared stores outlive it.
 */
import type { RuntimeConfig } from './config/runtime-config.js';
import { createCrowdClient } from './crowd/crowd-client.js';
import { createTokenValidator } from './crowd/token-cache.js';
import { computeValidationFactors } from './crowd/validation-factors.js';
import { createAuthenticator } from './flows/authenticate.js';
import { createLoginCompleter } from './flows/complete-login.js';
import type { FactorSet } from './flows/ports.js';
import { createLoginStarter } from './flows/start-login.js';
import { createRequestHandler, type Readiness, type RequestHandler } from './http/request-handler.js';
import { respondError } from './http/respond.js';
import type { Logger } from './observability/logger.js';
import { createReturnUrlPolicy } from './policy/return-url.js';
import { createRouter } from './policy/route.js';
import { createClientAddressResolver } from './proxy/client-address.js';
import { createForwarder } from './proxy/forwarder.js';
import { createLazyServiceProvider } from './saml/lazy-service-provider.js';
import { buildSpMetadataXml } from './saml/sp-metadata.js';
import { createLoginStateSealer, looksSealed } from './state/login-state-sealer.js';
import type { Stores } from './state/create-stores.js';

export interface RuntimeDeps {
  readonly logger: Logger;
  /** Shared by every runtime of this process (replay cache, session index). */
  readonly stores: Stores;
}

export interface Runtime {
  readonly config: RuntimeConfig;
  readonly handler: RequestHandler;
  /** Starts background work (IdP metadata load). */
  start(): void;
  /** Releases upstream connections, Crowd and IdP clients (after in-flight requests are done). */
  close(): Promise<void>;
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
    acsUrls: acsUrls(config),
  });
}

export function buildRuntime(config: RuntimeConfig, deps: RuntimeDeps): Runtime {
  const { logger, stores } = deps;
  const crowd = createCrowdClient(config.crowd);
  const saml = createLazyServiceProvider(config.saml, {
    onLoadError: (error) => logger.error({ err: error }, 'IdP metadata could not be loaded; logins fail with a 502 page until it can (check saml.idp)'),
  });
  const tokens = createTokenValidator({
    crowd,
    ttlMs: config.crowd.cacheTtlMs,
    negativeTtlMs: config.crowd.negativeCacheTtlMs,
    maxEntries: config.crowd.cacheMaxEntries,
  });
  const validationFactors = (clientIp: string): FactorSet => ({
    factors: computeValidationFactors(config.crowd.validationFactors, clientIp),
    cacheKey: clientIp,
  });
  const returnUrls = createReturnUrlPolicy({ publicScheme: config.publicScheme, hosts: config.apps.flatMap((app) => app.hosts) });
  const acsUrl = (host: string): string => `${config.publicScheme}://${host}${config.pathPrefix}/saml/acs`;
  const appByHost = new Map(config.apps.flatMap((app) => app.hosts.map((host) => [host, app] as const)));
  const sealer = createLoginStateSealer({ secret: config.stateSecret, ttlMs: config.saml.loginTimeoutMs });
  const metadataXml = renderSpMetadata(config);

  const forwarder = createForwarder(config.apps, {
    onUpstreamError: (error, req, res) => {
      respondError(logger, error, req, res, { reqId: String(req.headers['x-request-id'] ?? ''), host: req.headers.host, app: undefined });
    },
    onUpgradeError: (error, req) => {
      logger.warn({ host: req.headers.host, code: error.code, reason: error.reason }, error.message);
    },
  });

  const readiness = async (): Promise<Readiness> => {
    const [crowdCheck, idpCheck, storeCheck] = await Promise.allSettled([crowd.getCookieConfig(), saml.checkReady(), stores.check()]);
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

  const handler = createRequestHandler({
    logger,
    publicScheme: config.publicScheme,
    listenerProto: config.listen.tls ? 'https' : 'http',
    acsMaxBodyBytes: config.saml.acsMaxBodyBytes,
    router: createRouter(config.apps, config.pathPrefix),
    returnUrls,
    resolveClient: createClientAddressResolver(config.trustedProxies),
    forwarder,
    authenticator: createAuthenticator({ tokens, validationFactors }),
    loginStarter: createLoginStarter({ saml, sealer, acsUrl, forceAuthn: config.saml.forceAuthn }),
    loginCompleter: createLoginCompleter({
      saml,
      sealer,
      replay: stores.replay,
      sessions: stores.sessions,
      crowd,
      returnUrls,
      acsUrl,
      startUrl: (host) => returnUrls.absolute(host, appByHost.get(host)?.startPath ?? '/'),
      allowIdpInitiated: config.saml.allowIdpInitiated,
      username: config.saml.username,
      validationFactors,
      sessionDurationSeconds: config.crowd.sessionDurationSeconds,
      looksSealed,
    }),
    cookieConfig: () => crowd.getCookieConfig(),
    metadataXml: () => metadataXml,
    readiness,
  });

  return {
    config,
    handler,
    start: () => saml.warmUp(),
    close: async () => {
      await Promise.allSettled([forwarder.close(), crowd.close(), saml.close()]);
    },
  };
}
