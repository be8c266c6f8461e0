import { randomBytes } from 'node:crypto';
import type { RequestedAuthnContext, SamlPort, StateSealerPort } from './ports.js';

export interface LoginStarterDeps {
  readonly saml: Pick<SamlPort, 'createLoginRequest'>;
  readonly sealer: Pick<StateSealerPort, 'seal'>;
  /** The ACS URL on the host the login starts on (the IdP posts back there). */
  readonly acsUrl: (host: string) => string;
  readonly forceAuthn: boolean;
}

export interface LoginOptions {
  /** Ask the IdP to authenticate again (saml.forceAuthn always does). */
  readonly forceAuthn?: boolean;
  /** The app's required authentication context (apps[].requiredAuthnContext). */
  readonly authnContext?: RequestedAuthnContext | undefined;
}

/** SAML IDs (requests, logout requests) must not start with a digit; 160 random bits. */
export function newRequestId(): string {
  return `_${randomBytes(20).toString('hex')}`;
}

/**
 * Starts a login: a fresh AuthnRequest ID and the (already validated) return URL are sealed into
 * RelayState, so any instance can finish the login; the result is where to send the browser.
 */
export function createLoginStarter(deps: LoginStarterDeps) {
  return {
    async start(host: string, returnUrl: string, options: LoginOptions = {}): Promise<string> {
      const requestId = newRequestId();
      const relayState = await deps.sealer.seal({ requestId, returnUrl });
      const request = await deps.saml.createLoginRequest({
        acsUrl: deps.acsUrl(host),
        requestId,
        relayState,
        forceAuthn: deps.forceAuthn || options.forceAuthn === true,
        ...(options.authnContext === undefined ? {} : { authnContext: options.authnContext }),
      });
      return request.redirectUrl;
    },
  };
}

export type LoginStarter = ReturnType<typeof createLoginStarter>;
