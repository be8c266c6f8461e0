/**
 * What the proxy needs to know about the IdP (entityID, SSO and SLO endpoints, pinned signing
 * certificates), read from a metadata file, a metadata URL, or the manual settings.
 * `loadIdpMetadata` is self-contained so it can be run again to refresh.
 */
import { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { Element } from '@xmldom/xmldom';
import { Agent, request, type Dispatcher } from 'undici';
import type { SamlConfig } from '../config/runtime-config.js';
import { IdpUnavailableError } from '../errors.js';
import { SAML_URI } from './saml-uris.js';
import { attribute, childElements, descendantElements, isElement, parseStrictXml, rootElement, textOf } from './strict-xml.js';

/** Upper bound for a metadata document; large federation aggregates must be filtered to one entity first. */
export const MAX_METADATA_BYTES = 16 * 1024 * 1024;

export interface IdpSigningCert {
  /** Normalised PEM, as node-saml and xml-crypto take it. */
  readonly pem: string;
  readonly subject: string;
  readonly notAfter: Date;
  readonly fingerprintSha256: string;
}

export interface IdpMetadata {
  readonly entityId: string;
  /** SingleSignOnService location for the HTTP-Redirect binding. */
  readonly ssoUrl: string;
  /** SingleLogoutService location (HTTP-Redirect preferred, else HTTP-POST). */
  readonly sloUrl: string | undefined;
  /** The binding of `sloUrl`: how the proxy sends its LogoutRequest and LogoutResponse there. */
  readonly sloBinding: 'redirect' | 'post' | undefined;
  /** Where LogoutResponses go: the endpoint's ResponseLocation, else `sloUrl`. */
  readonly sloResponseUrl: string | undefined;
  readonly signingCerts: readonly IdpSigningCert[];
}

export interface LoadIdpMetadataDeps {
  /** undici dispatcher for `metadata-url`; a private Agent (closed afterwards) when absent. */
  readonly dispatcher?: Dispatcher;
}

/** Throws IdpUnavailableError naming the config key to fix. */
export async function loadIdpMetadata(config: SamlConfig, deps: LoadIdpMetadataDeps = {}): Promise<IdpMetadata> {
  const source = config.idp;
  switch (source.kind) {
    case 'manual':
      return {
        entityId: source.entityId,
        ssoUrl: checkHttpUrl(source.ssoUrl, 'saml.idp.ssoUrl'),
        sloUrl: source.sloUrl === undefined ? undefined : checkHttpUrl(source.sloUrl, 'saml.idp.sloUrl'),
        sloBinding: source.sloUrl === undefined ? undefined : 'redirect',
        sloResponseUrl: source.sloUrl,
        signingCerts: source.signingCerts.map((pem, index) => readSigningCert(pem, `saml.idp.signingCerts[${index}]`)),
      };
    case 'metadata-file': {
      const label = `saml.idp.metadataFile (${source.path})`;
      return parseIdpMetadata(await readMetadataFile(source.path, label), { entityId: config.idpEntityId, source: label });
    }
    case 'metadata-url': {
      const label = `saml.idp.metadataUrl (${source.url})`;
      const xml = await fetchMetadata(source.url, config.metadataTimeoutMs, label, deps.dispatcher);
      return parseIdpMetadata(xml, { entityId: config.idpEntityId, source: label });
    }
  }
}

/**
 * Reads SAML 2.0 metadata (EntityDescriptor, or EntitiesDescriptor holding several entities).
 * `entityId` picks the entity; without it the document must describe exactly one IdP.
 */
export function parseIdpMetadata(xml: string, options: { entityId: string | undefined; source: string }): IdpMetadata {
  const { source } = options;
  const fail = (message: string, cause?: unknown): IdpUnavailableError =>
    new IdpUnavailableError(`IdP metadata from ${source} ${message}`, { detail: 'metadata_invalid', cause });
  const root = rootElement(parseStrictXml(xml, (_problem, message, cause) => fail(message, cause)));
  const entities = isElement(root, SAML_URI.metadataNs, 'EntityDescriptor')
    ? [root]
    : isElement(root, SAML_URI.metadataNs, 'EntitiesDescriptor')
      ? descendantElements(root, SAML_URI.metadataNs, 'EntityDescriptor')
      : undefined;
  if (entities === undefined) {
    throw fail(`is not SAML 2.0 metadata (root element is ${root.tagName}, expected md:EntityDescriptor or md:EntitiesDescriptor)`);
  }
  const idps = entities.filter((entity) => idpDescriptorOf(entity) !== undefined);
  const entity = pickEntity(idps, options.entityId, fail);
  const entityId = attribute(entity, 'entityID') ?? '';
  if (entityId === '') throw fail('has an EntityDescriptor without entityID');
  const descriptor = idpDescriptorOf(entity);
  if (descriptor === undefined) throw fail(`has no SAML 2.0 IDPSSODescriptor for ${entityId}`);

  const ssoUrl = endpointLocation(descriptor, 'SingleSignOnService', [SAML_URI.bindingRedirect]);
  if (ssoUrl === undefined) {
    throw fail(`has no SingleSignOnService with the HTTP-Redirect binding for ${entityId}; the proxy sends AuthnRequests with that binding`);
  }
  const slo = sloEndpoint(descriptor);
  const sloUrl = slo?.location;
  const certTexts = childElements(descriptor, SAML_URI.metadataNs, 'KeyDescriptor')
    .filter((keyDescriptor) => (attribute(keyDescriptor, 'use') ?? 'signing') === 'signing')
    .flatMap((keyDescriptor) => descendantElements(keyDescriptor, SAML_URI.xmlDsigNs, 'X509Certificate'))
    .map(textOf);
  if (certTexts.length === 0) throw fail(`lists no signing certificate (KeyDescriptor use="signing" with X509Certificate) for ${entityId}`);
  const certs = certTexts.map((text, index) => readSigningCert(text, `${source}, signing certificate #${index + 1}`));
  return {
    entityId,
    ssoUrl: checkHttpUrl(ssoUrl, `${source} SingleSignOnService`),
    sloUrl: sloUrl === undefined ? undefined : checkHttpUrl(sloUrl, `${source} SingleLogoutService`),
    sloBinding: slo?.binding,
    sloResponseUrl: slo === undefined ? undefined : checkHttpUrl(slo.responseLocation ?? slo.location, `${source} SingleLogoutService ResponseLocation`),
    signingCerts: certs.filter((cert, index) => certs.findIndex((other) => other.fingerprintSha256 === cert.fingerprintSha256) === index),
  };
}

/** A certificate given as PEM or bare base64 (as in metadata), checked with node:crypto. */
export function readSigningCert(text: string, where: string): IdpSigningCert {
  if ((text.match(/-----BEGIN /g) ?? []).length > 1) {
    throw new IdpUnavailableError(`${where} holds more than one PEM block; give one certificate per entry.`, { detail: 'certificate_invalid' });
  }
  const base64 = text.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  try {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) throw new Error('not base64 / PEM text');
    const der = Buffer.from(base64, 'base64');
    const x509 = new X509Certificate(der);
    const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
    return {
      pem: `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`,
      subject: x509.subject,
      notAfter: new Date(x509.validTo),
      fingerprintSha256: x509.fingerprint256,
    };
  } catch (error) {
    throw new IdpUnavailableError(`${where} is not a readable X.509 certificate: ${error instanceof Error ? error.message : String(error)}.`, {
      detail: 'certificate_invalid',
      cause: error,
    });
  }
}

function idpDescriptorOf(entity: Element): Element | undefined {
  return childElements(entity, SAML_URI.metadataNs, 'IDPSSODescriptor').find((descriptor) =>
    (attribute(descriptor, 'protocolSupportEnumeration') ?? '').split(/\s+/).includes(SAML_URI.protocolNs),
  );
}

function pickEntity(idps: Element[], wanted: string | undefined, fail: (message: string) => IdpUnavailableError): Element {
  const ids = idps.map((entity) => attribute(entity, 'entityID') ?? '');
  const listed = ids.slice(0, 5).join(', ') + (ids.length > 5 ? ', ...' : '');
  if (wanted !== undefined) {
    const found = idps[ids.indexOf(wanted)];
    if (found === undefined) throw fail(`has no IdP entity "${wanted}" (saml.idpEntityId); IdP entities found: ${listed || 'none'}`);
    return found;
  }
  const [only, ...others] = idps;
  if (only === undefined) throw fail('describes no SAML 2.0 IdP (no IDPSSODescriptor)');
  if (others.length > 0) throw fail(`describes ${idps.length} IdPs; set saml.idpEntityId to the one to use (${listed})`);
  return only;
}

function endpointLocation(descriptor: Element, name: string, bindings: readonly string[]): string | undefined {
  const endpoints = childElements(descriptor, SAML_URI.metadataNs, name);
  for (const binding of bindings) {
    const location = endpoints.find((endpoint) => attribute(endpoint, 'Binding') === binding);
    if (location !== undefined) return attribute(location, 'Location');
  }
  return undefined;
}

/** The SingleLogoutService to use: HTTP-Redirect preferred, else HTTP-POST (SOAP back-channel logout is not supported). */
function sloEndpoint(descriptor: Element): { location: string; responseLocation: string | undefined; binding: 'redirect' | 'post' } | undefined {
  const endpoints = childElements(descriptor, SAML_URI.metadataNs, 'SingleLogoutService');
  for (const [binding, uri] of [['redirect', SAML_URI.bindingRedirect], ['post', SAML_URI.bindingPost]] as const) {
    const endpoint = endpoints.find((candidate) => attribute(candidate, 'Binding') === uri);
    const location = endpoint === undefined ? undefined : attribute(endpoint, 'Location');
    if (endpoint !== undefined && location !== undefined) return { location, responseLocation: attribute(endpoint, 'ResponseLocation'), binding };
  }
  return undefined;
}

function checkHttpUrl(value: string, where: string): string {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new IdpUnavailableError(`${where} is not an absolute http(s) URL: "${value}".`, { detail: 'metadata_invalid' });
  }
  return value;
}

async function readMetadataFile(path: string, label: string): Promise<string> {
  const fail = (reason: string, cause?: unknown): IdpUnavailableError =>
    new IdpUnavailableError(`Could not read the IdP metadata from ${label}: ${reason}. Check the path and the file's permissions.`, {
      detail: 'metadata_file',
      cause,
    });
  try {
    const size = (await stat(path)).size;
    if (size > MAX_METADATA_BYTES) throw fail(`the file has ${size} bytes, more than the ${MAX_METADATA_BYTES} accepted`);
    return decodeUtf8(await readFile(path));
  } catch (error) {
    if (error instanceof IdpUnavailableError) throw error;
    throw fail(error instanceof Error ? error.message : String(error), error);
  }
}

async function fetchMetadata(url: string, timeoutMs: number, label: string, dispatcher: Dispatcher | undefined): Promise<string> {
  const fail = (reason: string, cause?: unknown): IdpUnavailableError =>
    new IdpUnavailableError(
      `Could not load the IdP metadata from ${label}: ${reason}. Check that the URL is right and reachable from this host (bounded by saml.metadataTimeoutMs = ${timeoutMs} ms), or download it and use saml.idp.metadataFile.`,
      { detail: 'metadata_url', cause },
    );
  checkHttpUrl(url, 'saml.idp.metadataUrl');
  const agent = dispatcher ?? new Agent({ connectTimeout: timeoutMs, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  try {
    const response = await request(url, {
      method: 'GET',
      dispatcher: agent,
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: 'application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.8' },
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw fail(`the server answered HTTP ${response.statusCode} (redirects are not followed; give the final URL)`);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of response.body) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      total += bytes.length;
      if (total > MAX_METADATA_BYTES) {
        response.body.destroy();
        throw fail(`the document is larger than ${MAX_METADATA_BYTES} bytes`);
      }
      chunks.push(bytes);
    }
    return decodeUtf8(Buffer.concat(chunks));
  } catch (error) {
    if (error instanceof IdpUnavailableError) throw error;
    const reason = error instanceof Error && error.name === 'TimeoutError' ? `no complete answer within ${timeoutMs} ms` : String(error instanceof Error ? error.message : error);
    throw fail(reason, error);
  } finally {
    if (dispatcher === undefined) await agent.destroy();
  }
}

function decodeUtf8(bytes: Buffer): string {
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}
