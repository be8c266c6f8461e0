/**
 * COMPOSITION ROOT: RuntimeConfig → wired services → a running proxy.
 * Only `cli/` imports this file. Everything is built once here; the request path only calls.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RuntimeConfig } from './config/runtime-config.js';
import { createCrowdClient } from './crowd/crowd-client.js';
import { createTokenValidator } from './crowd/token-cache.js';
import { computeValidationFactors } from './crowd/validation-factors.js';
import { createAuthenticator } from './flows/authenticate.js';
import { createLoginCompleter } from './flows/complete-login.js';
import type { FactorSet } from './flows/ports.js';
import { createLoginStarter } from './flows/start-login.js';
import { createRequestHandler, type Readiness } from './http/request-handler.js';
import { respondError } from './http/respond.js';
import { createServer } from './http/server.js';
import { createLogger } from './observability/logger.js';
import { createReturnUrlPolicy } from './policy/return-url.js';
import { createRouter } from './policy/route.js';
import { createClientAddressResolver } from './proxy/client-address.js';
import { createForwarder } from './proxy/forwarder.js';
import { createLazyServiceProvider } from './saml/lazy-service-provider.js';
import { buildSpMetadataXml } from './saml/sp-metadata.js';
import { createLoginStateSealer, looksSealed } from './state/login-state-sealer.js';
import { createStores } from './state/create-stores.js';

export { runCheck, type CheckItem, type CheckReport } from './check/run-check.js';

/** How long `close()` lets in-flight requests finish. */
const CLOSE_GRACE_MS = 10_000;

export interface AppOptions {
  /** Overrides config.logLevel. */
  readonly logLevel?: RuntimeConfig['logLevel'];
  /** Where JSON log lines go (default: stdout). */
  readonly logDestination?: NodeJS.WritableStream;
}

export interface App {
  /** Starts listening on config.listen; resolves with the bound address. */
  listen(): Promise<AddressInfo>;
  /** Stops accepting, ends keep-alive sockets, closes Crowd/IdP clients. */
  close(): Promise<void>;
}

/** Every ACS URL the proxy answers on: one per app host. */
function acsUrls(config: RuntimeConfig): string[] {
  return config.apps.flatMap((app) => app.hosts.map((host) => `${config.publicScheme}://${host}${config.pathPrefix}/saml/acs`));
}

/** SP metadata XML for the configured hosts (what `metadata` prints and `/_sso/saml/metadata` serves). */
export async function renderSpMetadata(config: RuntimeConfig): Promise<string> {
  return buildSpMetadataXml({
    spEntityId: config.saml.spEntityId,
    nameIdFormat: config.saml.nameIdFormat,
    spCertificate: config.saml.spCertificate,
    signAuthnRequests: config.saml.signAuthnRequests,
    acsUrls: acsUrls(config),
  });
}

export async function createApp(config: RuntimeConfig, options: AppOptions = {}): Promise<App> {
  const logger = createLogger({ level: options.logLevel ?? config.logLevel, ...(options.logDestination ? { destination: options.logDestination } : {}) });
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
  const metadataXml = await renderSpMetadata(config);
  const stores = createStores(config);

  const forwarder = createForwarder(config.apps, {
    onUpstreamError: (error, req, res) => {
      respondError(logger, error, req, res, { reqId: String(req.headers['x-request-id'] ?? ''), host: req.headers.host, app: undefined });
    },
    onUpgradeError: (error, req) => {
      logger.warn({ host: req.headers.host, code: error.code, reason: error.reason }, error.message);
    },
  });

  const readiness = async (): Promise<Readiness> => {
    const [crowdCheck, idpCheck] = await Promise.allSettled([crowd.getCookieConfig(), saml.checkReady()]);
    const describe = (result: PromiseSettledResult<unknown>): string => (result.status === 'fulfilled' ? 'ok' : (result.reason as Error).message);
    return {
      ok: crowdCheck.status === 'fulfilled' && idpCheck.status === 'fulfilled',
      checks: { crowd: describe(crowdCheck), idp: describe(idpCheck) },
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

  const tls = config.listen.tls;
  const server: Server = createServer(handler, {
    tls: tls ? { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) } : undefined,
  });

  return {
    listen: () =>
      new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.listen.port, config.listen.host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          logger.info(
            { address: address.address, port: address.port, apps: config.apps.map((app) => ({ name: app.name, hosts: app.hosts })) },
            'crowd-sso-proxy listening',
          );
          saml.warmUp();
          resolve(address);
        });
      }),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests still running after the grace period are cut.
        setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS).unref();
      });
      await Promise.allSettled([forwarder.close(), crowd.close(), saml.close(), stores.close()]);
      logger.info('crowd-sso-proxy stopped');
      logger.flush();
    },
  };
}
