import { createHash, randomBytes } from 'node:crypto';
import type { RequestedAuthnContext, SamlPort, StateSealerPort } from './ports.js';

export interface LoginStarterDeps {
  readonly saml: Pick<SamlPort, 'createLoginRequest'>;
  readonly sealer: Pick<StateSealerPort, 'seal'>;
  /** The ACS URL on the host the login starts on (the IdP posts back there). */
  readonly acsUrl: (host: string) => string;
  readonly forceAuthn: boolean;
  /** The Set-Cookie of the login-binding cookie on `host` (policy/login-binding-cookie.ts). */
  readonly bindingCookie: (host: string, id: string, nonce: string) => string;
}

export interface LoginOptions {
  /** Ask the IdP to authenticate again (saml.forceAuthn always does). */
  readonly forceAuthn?: boolean;
  /** The app's required authentication context (apps[].requiredAuthnContext). */
  readonly authnContext?: RequestedAuthnContext | undefined;
}

export interface StartedLogin {
  /** Where to send the browser: the IdP's SSO URL with the AuthnRequest. */
  readonly redirectUrl: string;
  /** Set with the redirect: binds this login to this browser. */
  readonly setCookie: string;
}

/** SAML IDs (requests, logout requests) must not start with a digit; 160 random bits. */
export function newRequestId(): string {
  return `_${randomBytes(20).toString('hex')}`;
}

/** The nonce hash sealed in the RelayState, compared with the one the browser presents at the ACS. */
export function hashBindingNonce(nonce: string): string {
  return createHash('sha256').update(nonce).digest('base64url');
}

/**
 * Starts a login: a fresh AuthnRequest ID, the (already validated) return URL and the hash of a random nonce are
 * sealed into RelayState, so any instance can finish the login; the nonce itself goes into a cookie, so only the
 * browser that started the login can finish it (login CSRF).
 */
export function createLoginStarter(deps: LoginStarterDeps) {
  return {
    async start(host: string, returnUrl: string, options: LoginOptions = {}): Promise<StartedLogin> {
      const requestId = newRequestId();
      const binding = { id: randomBytes(9).toString('base64url'), nonce: randomBytes(32).toString('base64url') };
      const relayState = await deps.sealer.seal({ requestId, returnUrl, browserBinding: { id: binding.id, nonceHash: hashBindingNonce(binding.nonce) } });
      const request = await deps.saml.createLoginRequest({
        acsUrl: deps.acsUrl(host),
        requestId,
        relayState,
        forceAuthn: deps.forceAuthn || options.forceAuthn === true,
        ...(options.authnContext === undefined ? {} : { authnContext: options.authnContext }),
      });
      return { redirectUrl: request.redirectUrl, setCookie: deps.bindingCookie(host, binding.id, binding.nonce) };
    },
  };
}

export type LoginStarter = ReturnType<typeof createLoginStarter>;
