/** The SP metadata document the IdP administrator imports (one ACS per proxied host). */
import { ConfigError } from '../errors.js';
import { SAML_URI } from './saml-uris.js';
import { escapeXml } from './xml-escape.js';

export interface SpMetadataOptions {
  readonly spEntityId: string;
  readonly nameIdFormat: string;
  /** PEM certificate published as the signing key (KeyDescriptor use="signing"); none when undefined. */
  readonly spCertificate: string | undefined;
  readonly signAuthnRequests: boolean;
  /** WantAssertionsSigned="${options.wantAssertionsSigned}" exactly when the assertion's own signature is required. */
  readonly wantAssertionsSigned: boolean;
  /** ACS URLs (HTTP-POST); the first is the default. */
  readonly acsUrls: readonly string[];
  /** The single logout URL the IdP sends LogoutRequests and LogoutResponses to (HTTP-Redirect and HTTP-POST). */
  readonly sloUrl?: string;
}

export function buildSpMetadataXml(options: SpMetadataOptions): string {
  if (options.acsUrls.length === 0) {
    throw new ConfigError([{ path: 'apps', message: 'SP metadata needs at least one AssertionConsumerService URL, i.e. at least one app host.' }]);
  }
  const keyDescriptor =
    options.spCertificate === undefined
      ? []
      : [
          '    <md:KeyDescriptor use="signing">',
          `      <ds:KeyInfo xmlns:ds="${SAML_URI.xmlDsigNs}">`,
          `        <ds:X509Data><ds:X509Certificate>${escapeXml(certificateBody(options.spCertificate))}</ds:X509Certificate></ds:X509Data>`,
          '      </ds:KeyInfo>',
          '    </md:KeyDescriptor>',
        ];
  const services = options.acsUrls.map(
    (url, index) =>
      `    <md:AssertionConsumerService Binding="${SAML_URI.bindingPost}" Location="${escapeXml(url)}" index="${index}"${index === 0 ? ' isDefault="true"' : ''}/>`,
  );
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<md:EntityDescriptor xmlns:md="${SAML_URI.metadataNs}" entityID="${escapeXml(options.spEntityId)}">`,
    `  <md:SPSSODescriptor AuthnRequestsSigned="${options.signAuthnRequests}" WantAssertionsSigned="${options.wantAssertionsSigned}" protocolSupportEnumeration="${SAML_URI.protocolNs}">`,
    ...keyDescriptor,
    ...(options.sloUrl === undefined
      ? []
      : [SAML_URI.bindingRedirect, SAML_URI.bindingPost].map((binding) => `    <md:SingleLogoutService Binding="${binding}" Location="${escapeXml(options.sloUrl as string)}"/>`)),
    `    <md:NameIDFormat>${escapeXml(options.nameIdFormat)}</md:NameIDFormat>`,
    ...services,
    '  </md:SPSSODescriptor>',
    '</md:EntityDescriptor>',
    '',
  ].join('\n');
}

function certificateBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}
