/**
 * Part of the composition root (per configuration, part of a Runtime): each app's site (its compiled access policy,
 * Crowd-application check and upstream, found together by the router), the session judge, the forward and logout
 * flows, and the two HTTP pieces built on them — the gate in front of every app and the single logout endpoint.
 * Composition only: everything it builds comes from policy/, flows/ and http/.
 */
import type { AppConfig, RuntimeConfig } from '../config/runtime-config.js';
import type { Authenticator } from '../flows/authenticate.js';
import type { AccessEnforcer } from '../flows/enforce-access-restriction.js';
import { createForwardRequestFlow, type ForwardRequestSite } from '../flows/forward-request.js';
import { createSessionJudge } from '../flows/judge-session.js';
import { createLogoutFlow } from '../flows/logout.js';
import type { CrowdPort, ReplayStorePort, SamlPort, SessionStorePort, StateSealerPort, TokenValidatorPort } from '../flows/ports.js';
import type { LoginStarter } from '../flows/start-login.js';
import { createAppGate, type AppGate, type AppGateDeps } from '../http/app-gate.js';
import type { AppSite } from '../http/app-site.js';
import { createSloEndpoint, type SloEndpoint } from '../http/slo-endpoint.js';
import type { Logger } from '../observability/logger.js';
import { createAppPolicy } from '../policy/app-policy.js';
import type { ReturnUrlPolicy } from '../policy/return-url.js';
import { compileAddressMatcher } from '../policy/address-matcher.js';
import type { Forwarder } from '../proxy/forwarder.js';

export interface AccessControlDeps {
  readonly logger: Logger;
  readonly crowd: Pick<CrowdPort, 'invalidateSession' | 'getCookieConfig' | 'cachedCookieConfig'>;
  readonly tokenValidator: Pick<TokenValidatorPort, 'forget'>;
  readonly saml: Pick<SamlPort, 'createLogoutRequest' | 'createLogoutResponse' | 'readLogoutMessage'>;
  readonly sealer: StateSealerPort;
  readonly replay: ReplayStorePort;
  readonly sessions: SessionStorePort;
  readonly authenticator: Authenticator;
  readonly accessEnforcer: Pick<AccessEnforcer, 'atGate'>;
  /** apps[].crowdApplication: the app's check, built once (undefined for an app without one). */
  readonly checkAsApp: (app: AppConfig) => ForwardRequestSite['checkAsApp'];
  readonly loginStarter: LoginStarter;
  readonly loginStartBudget: AppGateDeps['loginStartBudget'];
  readonly returnUrls: ReturnUrlPolicy;
  readonly forwarder: Forwarder;
  /** Tells every instance that a session ended (stores.sessionEvents). */
  readonly announceEnded: (token: string) => Promise<void>;
  /** Injected clock for session lifetime decisions (tests). */
  readonly now?: () => number;
}

export interface AccessControl {
  /** One per app, in config order: what the router finds by host. */
  readonly sites: readonly AppSite[];
  readonly gate: AppGate;
  readonly slo: SloEndpoint;
  /** Drops what the session judge cached about the token (a session another instance ended). */
  forgetSession(token: string): void;
}

/** Throws ConfigError when an app's emergencyAccess.allowFrom cannot be compiled. */
export function buildAccessControl(config: RuntimeConfig, deps: AccessControlDeps): AccessControl {
  const sites = config.apps.map(
    (app, index): AppSite => ({
      app,
      policy: createAppPolicy(app, {
        maxSessionAgeMs: config.saml.maxSessionAgeMs,
        requireSsoSession: config.saml.requireSsoSession,
        forceAuthnOnReauth: config.saml.forceAuthnOnReauth,
        ...(app.emergencyAccess === undefined
          ? {}
          : { isEmergencyNetwork: compileAddressMatcher(app.emergencyAccess.allowFrom, `apps[${index}].emergencyAccess.allowFrom`) }),
      }),
      checkAsApp: deps.checkAsApp(app),
      upstream: deps.forwarder.upstreamOf(app),
    }),
  );
  const sessionJudge = createSessionJudge({
    sessions: deps.sessions,
    cacheTtlMs: config.crowd.cacheTtlMs,
    maxEntries: config.crowd.cacheMaxEntries,
    ...(deps.now === undefined ? {} : { now: deps.now }),
  });
  const logout = createLogoutFlow({
    crowd: deps.crowd,
    tokenValidator: deps.tokenValidator,
    sessions: deps.sessions,
    replay: deps.replay,
    saml: deps.saml,
    sealer: deps.sealer,
    onSessionEnded: (token) => sessionJudge.forget(token),
    announceEnded: deps.announceEnded,
    suppressLoginMs: config.logout.suppressLoginMs,
  });
  const cookieConfig = () => deps.crowd.getCookieConfig();
  const gate = createAppGate({
    logger: deps.logger,
    pathPrefix: config.pathPrefix,
    forwardRequest: createForwardRequestFlow({
      cookieConfig,
      cachedCookieConfig: () => deps.crowd.cachedCookieConfig(),
      authenticator: deps.authenticator,
      accessEnforcer: deps.accessEnforcer,
      sessionJudge,
    }),
    loginStarter: deps.loginStarter,
    loginStartBudget: deps.loginStartBudget,
    logout,
    logoutRedirectUrl: config.logout.redirectUrl,
    returnUrls: deps.returnUrls,
  });
  const slo = createSloEndpoint({
    logger: deps.logger,
    publicScheme: config.publicScheme,
    pathPrefix: config.pathPrefix,
    formLimits: { maxBodyBytes: config.saml.acsMaxBodyBytes, timeoutMs: config.saml.bodyTimeoutMs },
    logout,
    cookieConfig,
    logoutRedirectUrl: config.logout.redirectUrl,
  });
  return { sites, gate, slo, forgetSession: (token) => sessionJudge.forget(token) };
}
