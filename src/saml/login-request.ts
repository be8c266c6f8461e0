/**
 * AuthnRequest for the HTTP-Redirect binding. node-saml writes the AuthnRequest XML (with the
 * caller's request ID); the query string is assembled and signed here, because node-saml signs
 * `querystring.stringify` output but sends `URLSearchParams` encoding, which differ for some
 * RelayState characters, so an IdP verifying the raw query would refuse the signature.
 */
import { sign, type KeyObject } from 'node:crypto';
import { SAML } from '@node-saml/node-saml';
import { SAML_URI } from './saml-uris.js';

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
    // node-saml would otherwise demand PasswordProtectedTransport, refusing MFA or Kerberos logins.
    disableRequestedAuthnContext: true,
  });
  const unsignedUrl = new URL(await saml.getAuthorizeUrlAsync('', undefined, {}));
  const samlRequest = unsignedUrl.searchParams.get('SAMLRequest') ?? '';
  let query = `SAMLRequest=${encodeURIComponent(samlRequest)}`;
  if (options.relayState !== '') query += `&RelayState=${encodeURIComponent(options.relayState)}`;
  if (settings.signingKey !== undefined) {
    query += `&SigAlg=${encodeURIComponent(SAML_URI.rsaSha256)}`;
    const signature = sign('sha256', Buffer.from(query, 'utf8'), settings.signingKey).toString('base64');
    query += `&Signature=${encodeURIComponent(signature)}`;
  }
  const base = settings.ssoUrl.replace(/#.*$/, '');
  return `${base}${base.includes('?') ? '&' : '?'}${query}`;
}
