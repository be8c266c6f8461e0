/** Shared setup for the SAML tests: a strict SamlConfig, the demo keys, and good response options. */
import { DOMParser, XMLSerializer, type Document, type Element } from '@xmldom/xmldom';
import type { SamlConfig } from '../../src/config/runtime-config.js';
import { isSsoProxyError, type SsoProxyError } from '../../src/errors.js';
import { createServiceProvider, type ServiceProvider, type ServiceProviderDeps } from '../../src/saml/service-provider.js';
import { readDemoKeyPair } from '../../examples/demo/demo-keys.js';
import { buildSamlResponse, buildSamlResponseXml, newSamlId, type SamlResponseOptions } from '../../examples/demo/saml-response.js';

export const IDP_ENTITY_ID = 'https://idp.example.test/saml/metadata';
export const SP_ENTITY_ID = 'https://sso.example.test/saml';
export const ACS_URL = 'https://jira.example.test/_sso/saml/acs';
export const OTHER_ACS_URL = 'https://wiki.example.test/_sso/saml/acs';
export const SSO_URL = 'https://idp.example.test/saml/sso';
export const CLOCK_SKEW_MS = 60_000;
export const LOGIN_TIMEOUT_MS = 10 * 60_000;

export const idpKeys = readDemoKeyPair('idp');
export const spKeys = readDemoKeyPair('sp');
export const attackerKeys = readDemoKeyPair('attacker');

export function samlConfig(overrides: Partial<SamlConfig> = {}): SamlConfig {
  return {
    spEntityId: SP_ENTITY_ID,
    idp: { kind: 'manual', entityId: IDP_ENTITY_ID, ssoUrl: SSO_URL, sloUrl: undefined, signingCerts: [idpKeys.certPem] },
    idpEntityId: undefined,
    nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
    spPrivateKey: spKeys.keyPem,
    spCertificate: spKeys.certPem,
    signAuthnRequests: true,
    requireSignature: 'either',
    clockSkewMs: CLOCK_SKEW_MS,
    loginTimeoutMs: LOGIN_TIMEOUT_MS,
    allowIdpInitiated: true,
    acsMaxBodyBytes: 256 * 1024,
    bodyTimeoutMs: 20_000,
    maxLoginStartsPerClientPerMinute: 300,
    maxMessageBytes: 128 * 1024,
    forceAuthn: false,
    maxSessionAgeMs: undefined,
    requireSsoSession: false,
    forceAuthnOnReauth: false,
    metadataTimeoutMs: 2_000,
    metadataRefreshMs: 3_600_000,
    ...overrides,
  };
}

export function createTestSp(overrides: Partial<SamlConfig> = {}, deps: ServiceProviderDeps = {}): Promise<ServiceProvider> {
  return createServiceProvider(samlConfig(overrides), deps);
}

/** A response that passes every check, relative to the real clock (node-saml reads it). */
export function goodResponseOptions(requestId: string | undefined, overrides: Partial<SamlResponseOptions> = {}): SamlResponseOptions {
  const nowMs = Date.now();
  return {
    issuer: IDP_ENTITY_ID,
    destination: ACS_URL,
    recipient: ACS_URL,
    audience: SP_ENTITY_ID,
    inResponseTo: requestId,
    nameId: 'alice',
    nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
    sessionIndex: '_session-1',
    attributes: { 'urn:oid:0.9.2342.19200300.100.1.3': 'alice@example.test', groups: ['jira-users', 'confluence-users'] },
    friendlyNames: { 'urn:oid:0.9.2342.19200300.100.1.3': 'mail' },
    issueInstant: new Date(nowMs),
    notBefore: new Date(nowMs - 5_000),
    notOnOrAfter: new Date(nowMs + 5 * 60_000),
    sign: 'assertion',
    privateKeyPem: idpKeys.keyPem,
    certPem: idpKeys.certPem,
    ...overrides,
  };
}

export function goodResponse(requestId: string | undefined, overrides: Partial<SamlResponseOptions> = {}): string {
  return buildSamlResponse(goodResponseOptions(requestId, overrides));
}

export function goodResponseXml(requestId: string | undefined, overrides: Partial<SamlResponseOptions> = {}): string {
  return buildSamlResponseXml(goodResponseOptions(requestId, overrides));
}

export function toBase64(xml: string): string {
  return Buffer.from(xml, 'utf8').toString('base64');
}

export { newSamlId };

/** The typed error a refused call throws (fails the test when the call succeeds or throws something else). */
export async function refusal(promise: Promise<unknown>): Promise<SsoProxyError> {
  try {
    await promise;
  } catch (error) {
    if (isSsoProxyError(error)) return error;
    throw error;
  }
  throw new Error('expected a refusal, but the call succeeded');
}

export function causeMessage(error: Error): string {
  return error.cause instanceof Error ? error.cause.message : '';
}

/** Re-serialises `xml` after `change` edited its DOM (for forged and wrapped documents). */
export function mutateXml(xml: string, change: (document: Document) => void): string {
  const document = new DOMParser().parseFromString(xml, 'text/xml');
  change(document);
  return new XMLSerializer().serializeToString(document);
}

export function elementsByName(document: Document, namespace: string, localName: string): Element[] {
  return Array.from(document.getElementsByTagNameNS(namespace, localName));
}

export function only<T>(items: readonly T[]): T {
  const [item] = items;
  if (item === undefined || items.length !== 1) throw new Error(`expected exactly one item, got ${items.length}`);
  return item;
}
