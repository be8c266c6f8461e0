import { randomBytes } from 'node:crypto';
import type { SamlPort, StateSealerPort } from './ports.js';

export interface LoginStarterDeps {
  readonly saml: Pick<SamlPort, 'createLoginRequest'>;
  readonly sealer: Pick<StateSealerPort, 'seal'>;
  /** The ACS URL on the host the login starts on (the IdP posts back there). */
  readonly acsUrl: (host: string) => string;
  readonly forceAuthn: boolean;
}

/** SAML IDs must not start with a digit; 160 random bits. */
function newRequestId(): string {
  return `_${randomBytes(20).toString('hex')}`;
}

/**
 * Starts a login: a fresh AuthnRequest ID and the (already validated) return URL are sealed into
 * RelayState, so any instance can finish the login; the result is where to send the browser.
 */
export function createLoginStarter(deps: LoginStarterDeps) {
  return {
    async start(host: string, returnUrl: string): Promise<string> {
      const requestId = newRequestId();
      const relayState = await deps.sealer.seal({ requestId, returnUrl });
      const request = await deps.saml.createLoginRequest({ acsUrl: deps.acsUrl(host), requestId, relayState, forceAuthn: deps.forceAuthn });
      return request.redirectUrl;
    },
  };
}

export type LoginStarter = ReturnType<typeof createLoginStarter>;
