/**
 * IdP-side SAML 2.0 for the demo IdP and the test suite: builds real signed Responses
 * (xml-crypto: exclusive c14n, rsa-sha256, sha256 digests), including deliberately broken ones,
 * and reads AuthnRequests sent with the HTTP-Redirect binding.
 */
import { randomBytes } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { SignedXml } from 'xml-crypto';
import { readRedirectMessage } from '../../src/saml/redirect-binding.js';
import { SAML_URI } from '../../src/saml/saml-uris.js';
import { attribute, childElements, isElement, parseStrictXml, rootElement, textOf } from '../../src/saml/strict-xml.js';
import { escapeXml } from '../../src/saml/xml-escape.js';

export type SignaturePlacement = 'assertion' | 'response' | 'both' | 'none';

/** Every element or attribute whose option is undefined is left out (for negative tests). */
export interface SamlResponseOptions {
  /** Issuer of the Assertion, and of the Response unless `responseIssuer` says otherwise. */
  readonly issuer: string;
  /** A different Response Issuer; null leaves the Response without Issuer. */
  readonly responseIssuer?: string | null;
  readonly destination?: string;
  readonly recipient?: string;
  /** An empty array yields an AudienceRestriction without Audience. */
  readonly audience?: string | readonly string[];
  /** InResponseTo of the Response and of the SubjectConfirmationData. */
  readonly inResponseTo?: string;
  /** A different SubjectConfirmationData InResponseTo; null leaves it out. */
  readonly subjectInResponseTo?: string | null;
  readonly nameId: string;
  readonly nameIdFormat?: string;
  readonly sessionIndex?: string;
  readonly attributes?: Readonly<Record<string, string | readonly string[]>>;
  /** FriendlyName per attribute Name. */
  readonly friendlyNames?: Readonly<Record<string, string>>;
  /** Default: now. */
  readonly issueInstant?: Date;
  /** Conditions/@NotBefore. */
  readonly notBefore?: Date;
  /** Conditions/@NotOnOrAfter and SubjectConfirmationData/@NotOnOrAfter. */
  readonly notOnOrAfter?: Date;
  /** A different SubjectConfirmationData NotOnOrAfter; null leaves it out. */
  readonly subjectNotOnOrAfter?: Date | null;
  readonly sessionNotOnOrAfter?: Date;
  /** Default: urn:oasis:names:tc:SAML:2.0:status:Success. */
  readonly statusCode?: string;
  readonly statusMessage?: string;
  /** Default: bearer. */
  readonly subjectConfirmationMethod?: string;
  readonly authnContextClassRef?: string;
  readonly assertionId?: string;
  readonly responseId?: string;
  readonly withoutAssertion?: boolean;
  readonly withoutConditions?: boolean;
  readonly sign: SignaturePlacement;
  /** Required unless `sign` is 'none'. */
  readonly privateKeyPem?: string;
  /** Published in the signature's KeyInfo (which a correct SP ignores). */
  readonly certPem?: string;
}

const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const RESPONSE_XPATH = "/*[local-name(.)='Response']";
const ASSERTION_XPATH = `${RESPONSE_XPATH}/*[local-name(.)='Assertion']`;
const MAX_AUTHN_REQUEST_BYTES = 256 * 1024;

export function newSamlId(): string {
  return `_${randomBytes(20).toString('hex')}`;
}

export function buildSamlResponse(options: SamlResponseOptions): string {
  return Buffer.from(buildSamlResponseXml(options), 'utf8').toString('base64');
}

export function buildSamlResponseXml(options: SamlResponseOptions): string {
  const issueInstant = options.issueInstant ?? new Date();
  const responseIssuer = options.responseIssuer === undefined ? options.issuer : options.responseIssuer;
  const status = [
    '<samlp:Status>',
    `<samlp:StatusCode Value="${escapeXml(options.statusCode ?? SAML_URI.statusSuccess)}"/>`,
    options.statusMessage === undefined ? '' : `<samlp:StatusMessage>${escapeXml(options.statusMessage)}</samlp:StatusMessage>`,
    '</samlp:Status>',
  ].join('');
  const xml = [
    `<samlp:Response xmlns:samlp="${SAML_URI.protocolNs}" xmlns:saml="${SAML_URI.assertionNs}"`,
    attrs({ ID: options.responseId ?? newSamlId(), Version: '2.0', IssueInstant: instant(issueInstant), Destination: options.destination, InResponseTo: options.inResponseTo }),
    '>',
    responseIssuer === null ? '' : `<saml:Issuer>${escapeXml(responseIssuer)}</saml:Issuer>`,
    status,
    options.withoutAssertion === true ? '' : assertionXml(options, issueInstant),
    '</samlp:Response>',
  ].join('');
  if (options.sign === 'none') return xml;
  if (options.privateKeyPem === undefined) throw new TypeError('buildSamlResponse: privateKeyPem is required to sign');
  return signSamlResponseXml(xml, options.sign, options.privateKeyPem, options.certPem);
}

/** Signs a Response document (the Assertion first, so a Response signature covers it). */
export function signSamlResponseXml(xml: string, placement: Exclude<SignaturePlacement, 'none'>, privateKeyPem: string, certPem?: string): string {
  const assertionSigned = placement === 'response' ? xml : signElement(xml, ASSERTION_XPATH, privateKeyPem, certPem);
  return placement === 'assertion' ? assertionSigned : signElement(assertionSigned, RESPONSE_XPATH, privateKeyPem, certPem);
}

function assertionXml(options: SamlResponseOptions, issueInstant: Date): string {
  const subjectInResponseTo = options.subjectInResponseTo === undefined ? options.inResponseTo : (options.subjectInResponseTo ?? undefined);
  const subjectNotOnOrAfter = options.subjectNotOnOrAfter === undefined ? options.notOnOrAfter : (options.subjectNotOnOrAfter ?? undefined);
  const audiences = typeof options.audience === 'string' ? [options.audience] : options.audience;
  const conditions = [
    `<saml:Conditions${attrs({ NotBefore: optionalInstant(options.notBefore), NotOnOrAfter: optionalInstant(options.notOnOrAfter) })}>`,
    audiences === undefined
      ? ''
      : `<saml:AudienceRestriction>${audiences.map((audience) => `<saml:Audience>${escapeXml(audience)}</saml:Audience>`).join('')}</saml:AudienceRestriction>`,
    '</saml:Conditions>',
  ].join('');
  return [
    `<saml:Assertion xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="${SAML_URI.xsiNs}"`,
    attrs({ ID: options.assertionId ?? newSamlId(), Version: '2.0', IssueInstant: instant(issueInstant) }),
    '>',
    `<saml:Issuer>${escapeXml(options.issuer)}</saml:Issuer>`,
    '<saml:Subject>',
    `<saml:NameID${attrs({ Format: options.nameIdFormat })}>${escapeXml(options.nameId)}</saml:NameID>`,
    `<saml:SubjectConfirmation Method="${escapeXml(options.subjectConfirmationMethod ?? SAML_URI.bearer)}">`,
    `<saml:SubjectConfirmationData${attrs({ InResponseTo: subjectInResponseTo, NotOnOrAfter: optionalInstant(subjectNotOnOrAfter), Recipient: options.recipient })}/>`,
    '</saml:SubjectConfirmation>',
    '</saml:Subject>',
    options.withoutConditions === true ? '' : conditions,
    `<saml:AuthnStatement${attrs({ AuthnInstant: instant(issueInstant), SessionIndex: options.sessionIndex, SessionNotOnOrAfter: optionalInstant(options.sessionNotOnOrAfter) })}>`,
    '<saml:AuthnContext><saml:AuthnContextClassRef>',
    escapeXml(options.authnContextClassRef ?? 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport'),
    '</saml:AuthnContextClassRef></saml:AuthnContext>',
    '</saml:AuthnStatement>',
    attributeStatementXml(options),
    '</saml:Assertion>',
  ].join('');
}

function attributeStatementXml(options: SamlResponseOptions): string {
  const entries = Object.entries(options.attributes ?? {});
  if (entries.length === 0) return '';
  const attributes = entries.map(([name, value]) => {
    const values = typeof value === 'string' ? [value] : value;
    const friendlyName = options.friendlyNames?.[name];
    return [
      `<saml:Attribute${attrs({ Name: name, FriendlyName: friendlyName, NameFormat: 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri' })}>`,
      ...values.map((item) => `<saml:AttributeValue xsi:type="xs:string">${escapeXml(item)}</saml:AttributeValue>`),
      '</saml:Attribute>',
    ].join('');
  });
  return `<saml:AttributeStatement>${attributes.join('')}</saml:AttributeStatement>`;
}

/** Enveloped signature placed right after the element's Issuer (where the SAML schema wants it). */
function signElement(xml: string, elementXPath: string, privateKeyPem: string, certPem: string | undefined): string {
  const signer = new SignedXml({
    privateKey: privateKeyPem,
    publicCert: certPem,
    signatureAlgorithm: SAML_URI.rsaSha256,
    canonicalizationAlgorithm: EXC_C14N,
    getKeyInfoContent: certPem === undefined ? () => null : SignedXml.getKeyInfoContent,
  });
  signer.addReference({ xpath: elementXPath, transforms: [ENVELOPED, EXC_C14N], digestAlgorithm: SHA256 });
  const issuerXPath = `${elementXPath}/*[local-name(.)='Issuer']`;
  const hasIssuer = xmlHasIssuer(xml, elementXPath);
  signer.computeSignature(xml, {
    prefix: 'ds',
    location: hasIssuer ? { reference: issuerXPath, action: 'after' } : { reference: elementXPath, action: 'prepend' },
  });
  return signer.getSignedXml();
}

function xmlHasIssuer(xml: string, elementXPath: string): boolean {
  const response = rootElement(parseStrictXml(xml, (_problem, message) => new TypeError(message)));
  const element = elementXPath === RESPONSE_XPATH ? response : childElements(response, SAML_URI.assertionNs, 'Assertion')[0];
  return element !== undefined && childElements(element, SAML_URI.assertionNs, 'Issuer').length > 0;
}

export interface ParsedAuthnRequest {
  readonly id: string;
  readonly issuer: string;
  /** AssertionConsumerServiceURL; undefined when the SP asked by index instead. */
  readonly acsUrl: string | undefined;
  readonly destination: string | undefined;
  readonly forceAuthn: boolean;
  readonly isPassive: boolean;
  readonly nameIdFormat: string | undefined;
  /** AuthnContextClassRefs of a RequestedAuthnContext (empty when none is requested). */
  readonly requestedAuthnContext: readonly string[];
  /** Its Comparison attribute (SAML's default is exact). */
  readonly authnContextComparison: string | undefined;
}

/** Reads the `SAMLRequest` query parameter (already URL-decoded): base64, raw DEFLATE, XML. Throws Error. */
export function parseAuthnRequest(samlRequestParam: string): ParsedAuthnRequest {
  const xml = inflateRawSync(Buffer.from(samlRequestParam, 'base64'), { maxOutputLength: MAX_AUTHN_REQUEST_BYTES }).toString('utf8');
  const request = rootElement(parseStrictXml(xml, (_problem, message) => new Error(`SAMLRequest ${message}`)));
  if (!isElement(request, SAML_URI.protocolNs, 'AuthnRequest')) throw new Error(`SAMLRequest is a ${request.tagName}, not an AuthnRequest`);
  const id = attribute(request, 'ID');
  const [issuer] = childElements(request, SAML_URI.assertionNs, 'Issuer');
  if (id === undefined || issuer === undefined) throw new Error('AuthnRequest without ID or Issuer');
  const [policy] = childElements(request, SAML_URI.protocolNs, 'NameIDPolicy');
  const [requested] = childElements(request, SAML_URI.protocolNs, 'RequestedAuthnContext');
  return {
    id,
    issuer: textOf(issuer),
    acsUrl: attribute(request, 'AssertionConsumerServiceURL'),
    destination: attribute(request, 'Destination'),
    forceAuthn: attribute(request, 'ForceAuthn') === 'true',
    isPassive: attribute(request, 'IsPassive') === 'true',
    nameIdFormat: policy === undefined ? undefined : attribute(policy, 'Format'),
    requestedAuthnContext: requested === undefined ? [] : childElements(requested, SAML_URI.assertionNs, 'AuthnContextClassRef').map(textOf),
    authnContextComparison: requested === undefined ? undefined : attribute(requested, 'Comparison'),
  };
}

export interface ParsedLogoutRequest {
  readonly id: string;
  readonly issuer: string;
  readonly destination: string | undefined;
  readonly nameId: string;
  readonly sessionIndex: string | undefined;
}

/**
 * An SP's LogoutRequest from a Redirect-binding query string: its signature is checked with `spCertPem` when given
 * (the proxy signs every LogoutRequest), then the XML is read. Throws Error.
 */
export function readSignedLogoutRequest(rawQuery: string, spCertPem: string | undefined): ParsedLogoutRequest {
  const xml =
    spCertPem === undefined
      ? inflateRawSync(Buffer.from(new URLSearchParams(rawQuery).get('SAMLRequest') ?? '', 'base64'), { maxOutputLength: MAX_AUTHN_REQUEST_BYTES }).toString('utf8')
      : readRedirectMessage(rawQuery, [spCertPem], MAX_AUTHN_REQUEST_BYTES).xml;
  return parseLogoutRequestXml(xml);
}

export function parseLogoutRequestXml(xml: string): ParsedLogoutRequest {
  const request = rootElement(parseStrictXml(xml, (_problem, message) => new Error(`SAMLRequest ${message}`)));
  if (!isElement(request, SAML_URI.protocolNs, 'LogoutRequest')) throw new Error(`SAMLRequest is a ${request.tagName}, not a LogoutRequest`);
  const id = attribute(request, 'ID');
  const [issuer] = childElements(request, SAML_URI.assertionNs, 'Issuer');
  const [nameId] = childElements(request, SAML_URI.assertionNs, 'NameID');
  const [sessionIndex] = childElements(request, SAML_URI.protocolNs, 'SessionIndex');
  if (id === undefined || issuer === undefined || nameId === undefined) throw new Error('LogoutRequest without ID, Issuer or NameID');
  return {
    id,
    issuer: textOf(issuer),
    destination: attribute(request, 'Destination'),
    nameId: textOf(nameId),
    sessionIndex: sessionIndex === undefined ? undefined : textOf(sessionIndex),
  };
}

function attrs(values: Readonly<Record<string, string | undefined>>): string {
  return Object.entries(values)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => ` ${name}="${escapeXml(value)}"`)
    .join('');
}

/** SAML instants: UTC, second precision. */
function instant(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function optionalInstant(date: Date | undefined): string | undefined {
  return date === undefined ? undefined : instant(date);
}
