/**
 * AuthnRequest for the HTTP-Redirect binding. node-saml writes the AuthnRequest XML (with the
 * caller's request ID); the query string is assembled and signed by redirect-binding.ts, because
 * node-saml signs `querystring.stringify` output but sends `URLSearchParams` encoding, which differ
 * for some RelayState characters, so an IdP verifying the raw query would refuse the signature.
 */
import type { KeyObject } from 'node:crypto';
import { SAML } from '@node-saml/node-saml';
import { buildRedirectUrl } from './redirect-binding.js';

export interface LoginRequestSettings {
  readonly spEntityId: string;
  readonly ssoUrl: string;
  readonly nameIdFormat: string;
  /** node-saml insists on IdP certificates even for building requests. */
  readonly idpCertPems: readonly string[];
  /** SP key; the request is signed (rsa-sha256) when present. */
  readonly signingKey: KeyObject | undefined;
  /** saml.forceAuthn: always ask the IdP to re-authenticate. */
  readonly forceAuthn: boolean;
}

export interface LoginRequestOptions {
  readonly acsUrl: string;
  /** Becomes the AuthnRequest ID; must be an xs:ID (NCName, e.g. `_` + hex). */
  readonly requestId: string;
  readonly relayState: string;
  readonly forceAuthn?: boolean;
  /** RequestedAuthnContext (apps[].requiredAuthnContext); none is sent without it. */
  readonly authnContext?: { readonly classRefs: readonly string[]; readonly comparison: 'exact' | 'minimum' };
}

export async function buildLoginRedirectUrl(settings: LoginRequestSettings, options: LoginRequestOptions): Promise<string> {
  const saml = new SAML({
    callbackUrl: options.acsUrl,
    issuer: settings.spEntityId,
    entryPoint: settings.ssoUrl,
    idpCert: [...settings.idpCertPems],
    identifierFormat: settings.nameIdFormat,
    generateUniqueId: () => options.requestId,
    forceAuthn: settings.forceAuthn || options.forceAuthn === true,
    // Without an app's requirement none is sent: node-saml's default would demand PasswordProtectedTransport,
    // refusing MFA or Kerberos logins.
    ...(options.authnContext === undefined
      ? { disableRequestedAuthnContext: true }
      : { authnContext: [...options.authnContext.classRefs], racComparison: options.authnContext.comparison }),
  });
  const unsignedUrl = new URL(await saml.getAuthorizeUrlAsync('', undefined, {}));
  const samlRequest = unsignedUrl.searchParams.get('SAMLRequest') ?? '';
  return buildRedirectUrl(settings.ssoUrl, 'SAMLRequest', samlRequest, options.relayState, settings.signingKey);
}
