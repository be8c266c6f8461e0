/**
 * SAML 2.0 LogoutRequest / LogoutResponse (SAML core §3.7): the XML the proxy sends, and the checks on the ones
 * it receives (run on the verified XML only): version, Issuer, Destination, IssueInstant window, NotOnOrAfter,
 * NameID (never encrypted), SessionIndex, Status.
 */
import type { Element } from '@xmldom/xmldom';
import { SamlConditionsError, SamlMalformedError } from '../errors.js';
import { SAML_URI } from './saml-uris.js';
import { attribute, childElements, isElement, textOf } from './strict-xml.js';
import { escapeXml } from './xml-escape.js';

const STATUS_PARTIAL_LOGOUT = 'urn:oasis:names:tc:SAML:2.0:status:PartialLogout';
const STATUS_RESPONDER = 'urn:oasis:names:tc:SAML:2.0:status:Responder';
const SAML_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

export interface OutgoingLogoutRequest {
  readonly id: string;
  readonly issuer: string;
  readonly destination: string;
  readonly issueInstant: Date;
  readonly notOnOrAfter: Date;
  readonly nameId: string;
  readonly nameIdFormat: string | undefined;
  readonly sessionIndex: string | undefined;
}

export function logoutRequestXml(request: OutgoingLogoutRequest): string {
  return [
    `<samlp:LogoutRequest xmlns:samlp="${SAML_URI.protocolNs}" xmlns:saml="${SAML_URI.assertionNs}" ID="${escapeXml(request.id)}" Version="2.0"`,
    ` IssueInstant="${instant(request.issueInstant)}" Destination="${escapeXml(request.destination)}" NotOnOrAfter="${instant(request.notOnOrAfter)}">`,
    `<saml:Issuer>${escapeXml(request.issuer)}</saml:Issuer>`,
    `<saml:NameID${request.nameIdFormat === undefined ? '' : ` Format="${escapeXml(request.nameIdFormat)}"`}>${escapeXml(request.nameId)}</saml:NameID>`,
    request.sessionIndex === undefined ? '' : `<samlp:SessionIndex>${escapeXml(request.sessionIndex)}</samlp:SessionIndex>`,
    '</samlp:LogoutRequest>',
  ].join('');
}

export interface OutgoingLogoutResponse {
  readonly id: string;
  readonly issuer: string;
  readonly destination: string;
  readonly issueInstant: Date;
  readonly inResponseTo: string;
  /** `partial`: some sessions could not be ended (Responder / PartialLogout). */
  readonly partial: boolean;
}

export function logoutResponseXml(response: OutgoingLogoutResponse): string {
  const status = response.partial
    ? `<samlp:StatusCode Value="${STATUS_RESPONDER}"><samlp:StatusCode Value="${STATUS_PARTIAL_LOGOUT}"/></samlp:StatusCode>`
    : `<samlp:StatusCode Value="${SAML_URI.statusSuccess}"/>`;
  return [
    `<samlp:LogoutResponse xmlns:samlp="${SAML_URI.protocolNs}" xmlns:saml="${SAML_URI.assertionNs}" ID="${escapeXml(response.id)}" Version="2.0"`,
    ` IssueInstant="${instant(response.issueInstant)}" Destination="${escapeXml(response.destination)}" InResponseTo="${escapeXml(response.inResponseTo)}">`,
    `<saml:Issuer>${escapeXml(response.issuer)}</saml:Issuer>`,
    `<samlp:Status>${status}</samlp:Status>`,
    '</samlp:LogoutResponse>',
  ].join('');
}

/** An IdP's LogoutRequest, after every check. */
export interface IncomingLogoutRequest {
  readonly kind: 'request';
  readonly id: string;
  readonly issuer: string;
  readonly nameId: string;
  readonly nameIdFormat: string | undefined;
  /** Empty: every session of that NameID. */
  readonly sessionIndexes: readonly string[];
  /** Until when the request ID must be remembered against replay. */
  readonly expiresAtMs: number;
}

/** An IdP's LogoutResponse (to the proxy's LogoutRequest), after every check. */
export interface IncomingLogoutResponse {
  readonly kind: 'response';
  readonly id: string;
  readonly inResponseTo: string | undefined;
  readonly success: boolean;
  /** Status code(s) as sent, for the log. */
  readonly status: string;
}

export interface LogoutExpectations {
  readonly idpEntityId: string;
  /** The SLO URL of the host the message arrived on. */
  readonly destination: string;
  readonly nowMs: number;
  readonly clockSkewMs: number;
  /** Oldest acceptable IssueInstant, as an age. */
  readonly maxAgeMs: number;
}

const malformed = (detail: string, message: string): SamlMalformedError =>
  new SamlMalformedError(`The SAML logout message was refused: ${message}.`, { detail, publicMessage: 'The sign-out message from your identity provider could not be read.' });
const refuse = (detail: string, message: string): SamlConditionsError =>
  new SamlConditionsError(`The SAML logout message was refused: ${message}.`, {
    detail,
    publicMessage: 'The sign-out message from your identity provider is not valid for this site or has expired.',
  });

/** Reads the verified root element of a logout message. Throws SamlMalformedError or SamlConditionsError. */
export function readLogoutMessage(root: Element, expect: LogoutExpectations): IncomingLogoutRequest | IncomingLogoutResponse {
  const isRequest = isElement(root, SAML_URI.protocolNs, 'LogoutRequest');
  if (!isRequest && !isElement(root, SAML_URI.protocolNs, 'LogoutResponse')) {
    throw malformed('not_logout', `the message is a ${root.tagName}, not a samlp:LogoutRequest or samlp:LogoutResponse`);
  }
  const where = isRequest ? 'LogoutRequest' : 'LogoutResponse';
  if (attribute(root, 'Version') !== '2.0') throw malformed('version', `the ${where} is not SAML version 2.0`);
  const id = attribute(root, 'ID');
  if (id === undefined || id === '') throw malformed('id', `the ${where} has no ID`);
  checkIssuer(root, where, expect.idpEntityId);
  const destination = attribute(root, 'Destination');
  if (destination !== expect.destination) {
    throw refuse(
      'destination',
      `the ${where} Destination is ${destination === undefined ? 'missing' : `"${destination}"`}, not this single logout URL (${expect.destination})`,
    );
  }
  const issuedMs = instantOf(root, 'IssueInstant', where);
  if (issuedMs === undefined) throw malformed('timestamp', `the ${where} has no IssueInstant`);
  if (issuedMs > expect.nowMs + expect.clockSkewMs) {
    throw refuse('issue_instant', `the ${where} IssueInstant lies in the future; check the clocks (saml.clockSkewSeconds)`);
  }
  if (issuedMs < expect.nowMs - expect.maxAgeMs - expect.clockSkewMs) {
    throw refuse('issue_instant', `the ${where} was issued more than saml.loginTimeoutSeconds ago`);
  }
  return isRequest ? readRequest(root, id, issuedMs, expect) : readResponse(root, id);
}

function readRequest(root: Element, id: string, issuedMs: number, expect: LogoutExpectations): IncomingLogoutRequest {
  const notOnOrAfterMs = instantOf(root, 'NotOnOrAfter', 'LogoutRequest');
  if (notOnOrAfterMs !== undefined && expect.nowMs - expect.clockSkewMs >= notOnOrAfterMs) {
    throw refuse('not_on_or_after', 'the LogoutRequest expired (NotOnOrAfter passed)');
  }
  if (childElements(root, SAML_URI.assertionNs, 'EncryptedID').length > 0) {
    throw malformed('encrypted_id', 'the LogoutRequest holds an EncryptedID; configure the IdP to send the NameID unencrypted');
  }
  const nameIds = childElements(root, SAML_URI.assertionNs, 'NameID');
  const [nameId] = nameIds;
  if (nameId === undefined || nameIds.length !== 1 || textOf(nameId) === '') throw malformed('name_id', 'the LogoutRequest must name exactly one NameID');
  return {
    kind: 'request',
    id,
    issuer: expect.idpEntityId,
    nameId: textOf(nameId),
    nameIdFormat: attribute(nameId, 'Format'),
    sessionIndexes: childElements(root, SAML_URI.protocolNs, 'SessionIndex').map(textOf).filter((index) => index !== ''),
    expiresAtMs: Math.max(notOnOrAfterMs ?? 0, issuedMs + expect.maxAgeMs + expect.clockSkewMs),
  };
}

function readResponse(root: Element, id: string): IncomingLogoutResponse {
  const [status] = childElements(root, SAML_URI.protocolNs, 'Status');
  const [code] = status === undefined ? [] : childElements(status, SAML_URI.protocolNs, 'StatusCode');
  const value = code === undefined ? undefined : attribute(code, 'Value');
  if (code === undefined || value === undefined) throw malformed('status', 'the LogoutResponse has no Status/StatusCode');
  const [nested] = childElements(code, SAML_URI.protocolNs, 'StatusCode');
  const nestedValue = nested === undefined ? undefined : attribute(nested, 'Value');
  return {
    kind: 'response',
    id,
    inResponseTo: attribute(root, 'InResponseTo'),
    success: value === SAML_URI.statusSuccess,
    status: nestedValue === undefined ? value : `${value} / ${nestedValue}`,
  };
}

function checkIssuer(root: Element, where: string, idpEntityId: string): void {
  const issuers = childElements(root, SAML_URI.assertionNs, 'Issuer');
  const [issuer] = issuers;
  if (issuer === undefined || issuers.length !== 1) throw refuse('issuer', `the ${where} must have exactly one Issuer`);
  if (textOf(issuer) !== idpEntityId) {
    throw refuse('issuer', `the ${where} Issuer is "${textOf(issuer).slice(0, 200)}", but the IdP is "${idpEntityId}"`);
  }
}

function instantOf(element: Element, name: string, where: string): number | undefined {
  const value = attribute(element, name);
  if (value === undefined) return undefined;
  const ms = SAML_INSTANT.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw malformed('timestamp', `the ${where} ${name} "${value.slice(0, 40)}" is not a UTC xs:dateTime`);
  return ms;
}

/** SAML instants: UTC, second precision. */
function instant(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
