/**
 * Our own checks, after node-saml verified the signature, on the assertion XML node-saml
 * returned as signed (never re-queried from the raw document), plus the Response envelope.
 * Every condition is checked here even where node-saml checks it too, on the injected clock.
 */
import type { Element } from '@xmldom/xmldom';
import { SamlConditionsError, SamlMalformedError } from '../errors.js';
import { SAML_URI } from './saml-uris.js';
import { attribute, childElements, isElement, parseStrictXml, rootElement, textOf } from './strict-xml.js';
import type { SamlProfile } from './saml-profile.js';

export interface AssertionExpectations {
  readonly idpEntityId: string;
  readonly spEntityId: string;
  readonly acsUrl: string;
  /** null: an unsolicited response, so no InResponseTo anywhere. */
  readonly expectedRequestId: string | null;
  /** ID of the single Assertion of the raw document. */
  readonly assertionId: string;
  readonly clockSkewMs: number;
  /** Oldest acceptable IssueInstant, as an age. */
  readonly maxIssueAgeMs: number;
  readonly nowMs: number;
}


const A = SAML_URI.assertionNs;
/** xs:dateTime in UTC as SAML core 1.3.3 requires. */
const SAML_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

const refuse = (detail: string, message: string): SamlConditionsError =>
  new SamlConditionsError(`The SAML response was refused: ${message}.`, { detail });
const malformed = (detail: string, message: string): SamlMalformedError =>
  new SamlMalformedError(`The SAML response was refused: ${message}.`, { detail });

export function readVerifiedAssertion(response: Element, signedAssertionXml: string, expect: AssertionExpectations): SamlProfile {
  const assertion = rootElement(parseStrictXml(signedAssertionXml, (_problem, message) => malformed('xml', `the signed assertion ${message}`)));
  if (!isElement(assertion, A, 'Assertion') || attribute(assertion, 'ID') !== expect.assertionId) {
    throw malformed('assertion_count', 'the signed assertion is not the assertion the Response carries');
  }
  const responseInResponseTo = checkEnvelope(response, expect);
  checkIssuer(assertion, 'Assertion', expect.idpEntityId);
  checkInstant(assertion, 'Assertion', expect);
  const subject = onlyChild(assertion, 'Subject', 'Assertion');
  const nameId = readNameId(subject);
  const confirmationNotOnOrAfterMs = checkBearerConfirmation(subject, expect);
  const conditionsNotOnOrAfterMs = checkConditions(onlyChild(assertion, 'Conditions', 'Assertion'), expect);
  const authn = readAuthnStatement(assertion, expect);
  return Object.freeze({
    issuer: expect.idpEntityId,
    nameId: nameId.value,
    nameIdFormat: nameId.format,
    sessionIndex: authn.sessionIndex,
    attributes: readAttributes(assertion),
    assertionId: expect.assertionId,
    inResponseTo: responseInResponseTo,
    notOnOrAfterMs: Math.min(confirmationNotOnOrAfterMs, conditionsNotOnOrAfterMs ?? Number.POSITIVE_INFINITY),
    sessionNotOnOrAfterMs: authn.sessionNotOnOrAfterMs,
    authnContextClassRef: authn.authnContextClassRef,
  });
}

/** Response-level checks; returns the Response's InResponseTo. */
function checkEnvelope(response: Element, expect: AssertionExpectations): string | undefined {
  if (attribute(response, 'Version') !== '2.0') throw malformed('version', 'the Response is not SAML version 2.0');
  checkIssuer(response, 'Response', expect.idpEntityId);
  const destination = attribute(response, 'Destination');
  if (destination !== expect.acsUrl) {
    throw refuse(
      'destination',
      destination === undefined
        ? `the Response has no Destination; it must name this ACS URL (${expect.acsUrl})`
        : `the Response Destination is "${destination}", not this ACS URL (${expect.acsUrl}); configure the IdP to post to ${expect.acsUrl}`,
    );
  }
  const inResponseTo = attribute(response, 'InResponseTo');
  checkInResponseTo(inResponseTo, expect.expectedRequestId, 'Response');
  checkInstant(response, 'Response', expect);
  return inResponseTo;
}

function checkIssuer(element: Element, where: string, idpEntityId: string): void {
  const issuers = childElements(element, A, 'Issuer');
  const [issuer] = issuers;
  if (issuers.length !== 1 || issuer === undefined) throw refuse('issuer', `the ${where} must have exactly one Issuer`);
  const format = attribute(issuer, 'Format');
  if (format !== undefined && format !== SAML_URI.nameIdEntity) throw refuse('issuer', `the ${where} Issuer has Format ${format}, not entity`);
  const value = textOf(issuer);
  if (value !== idpEntityId) {
    throw refuse('issuer', `the ${where} Issuer is "${value}", but the IdP is "${idpEntityId}" (from the IdP metadata or saml.idp.entityId)`);
  }
}

function checkInResponseTo(actual: string | undefined, expected: string | null, where: string): void {
  if (expected === null && actual !== undefined) {
    throw refuse('in_response_to', `the ${where} answers request ${actual}, but no login was started for it (an unsolicited response was expected)`);
  }
  if (expected !== null && actual !== expected) {
    throw refuse(
      'in_response_to',
      `the ${where} ${actual === undefined ? 'has no InResponseTo' : `answers request ${actual}`}, but this browser's login is request ${expected}`,
    );
  }
}

function checkInstant(element: Element, where: string, expect: AssertionExpectations): void {
  const issuedMs = requiredInstant(element, 'IssueInstant', where);
  if (issuedMs > expect.nowMs + expect.clockSkewMs) {
    throw refuse('issue_instant', `the ${where} IssueInstant lies in the future; check the clocks of the IdP and this host (saml.clockSkewSeconds)`);
  }
  if (issuedMs < expect.nowMs - expect.maxIssueAgeMs - expect.clockSkewMs) {
    throw refuse('issue_instant', `the ${where} was issued more than saml.loginTimeoutSeconds (${expect.maxIssueAgeMs} ms) ago`);
  }
}

function readNameId(subject: Element): { value: string; format: string | undefined } {
  if (childElements(subject, A, 'EncryptedID').length > 0) {
    throw malformed('encrypted_id', 'the Subject holds an EncryptedID; configure the IdP to send the NameID unencrypted');
  }
  const nameId = onlyChild(subject, 'NameID', 'Subject');
  const value = textOf(nameId);
  if (value === '') throw malformed('name_id', 'the NameID is empty');
  return { value, format: attribute(nameId, 'Format') };
}

/** Finds a bearer SubjectConfirmation satisfying every rule; returns its NotOnOrAfter. */
function checkBearerConfirmation(subject: Element, expect: AssertionExpectations): number {
  const bearers = childElements(subject, A, 'SubjectConfirmation').filter((confirmation) => attribute(confirmation, 'Method') === SAML_URI.bearer);
  let firstProblem: SamlConditionsError | undefined;
  for (const bearer of bearers) {
    try {
      return checkConfirmationData(onlyChild(bearer, 'SubjectConfirmationData', 'SubjectConfirmation'), expect);
    } catch (error) {
      if (!(error instanceof SamlConditionsError)) throw error;
      firstProblem ??= error;
    }
  }
  throw firstProblem ?? refuse('subject_confirmation', `the Subject has no SubjectConfirmation with Method ${SAML_URI.bearer}`);
}

function checkConfirmationData(data: Element, expect: AssertionExpectations): number {
  const recipient = attribute(data, 'Recipient');
  if (recipient !== expect.acsUrl) {
    throw refuse('recipient', `the SubjectConfirmationData Recipient is ${recipient === undefined ? 'missing' : `"${recipient}"`}, not this ACS URL (${expect.acsUrl})`);
  }
  checkInResponseTo(attribute(data, 'InResponseTo'), expect.expectedRequestId, 'SubjectConfirmationData');
  checkNotBefore(optionalInstant(data, 'NotBefore', 'SubjectConfirmationData'), 'SubjectConfirmationData', expect);
  const notOnOrAfterMs = requiredInstant(data, 'NotOnOrAfter', 'SubjectConfirmationData');
  checkNotOnOrAfter(notOnOrAfterMs, 'SubjectConfirmationData', expect);
  return notOnOrAfterMs;
}

/** Returns Conditions/@NotOnOrAfter when present. */
function checkConditions(conditions: Element, expect: AssertionExpectations): number | undefined {
  checkNotBefore(optionalInstant(conditions, 'NotBefore', 'Conditions'), 'Conditions', expect);
  const notOnOrAfterMs = optionalInstant(conditions, 'NotOnOrAfter', 'Conditions');
  if (notOnOrAfterMs !== undefined) checkNotOnOrAfter(notOnOrAfterMs, 'Conditions', expect);
  const restrictions = childElements(conditions, A, 'AudienceRestriction');
  if (restrictions.length === 0) throw refuse('audience', 'the Conditions have no AudienceRestriction');
  for (const restriction of restrictions) {
    const audiences = childElements(restriction, A, 'Audience').map(textOf);
    if (!audiences.includes(expect.spEntityId)) {
      throw refuse('audience', `the assertion is meant for ${audiences.join(', ') || 'nobody'}, not for this SP (saml.spEntityId = ${expect.spEntityId})`);
    }
  }
  return notOnOrAfterMs;
}

function checkNotBefore(notBeforeMs: number | undefined, where: string, expect: AssertionExpectations): void {
  if (notBeforeMs !== undefined && expect.nowMs + expect.clockSkewMs < notBeforeMs) {
    throw refuse('not_before', `the ${where} are not valid yet (NotBefore in the future); check the clocks or raise saml.clockSkewSeconds`);
  }
}

function checkNotOnOrAfter(notOnOrAfterMs: number, where: string, expect: AssertionExpectations): void {
  if (expect.nowMs - expect.clockSkewMs >= notOnOrAfterMs) {
    throw refuse('not_on_or_after', `the ${where} expired (NotOnOrAfter passed); check the clocks or raise saml.clockSkewSeconds`);
  }
}

function readAuthnStatement(assertion: Element, expect: AssertionExpectations) {
  const [statement] = childElements(assertion, A, 'AuthnStatement');
  if (statement === undefined) throw malformed('authn_statement', 'the assertion has no AuthnStatement');
  const sessionNotOnOrAfterMs = optionalInstant(statement, 'SessionNotOnOrAfter', 'AuthnStatement');
  if (sessionNotOnOrAfterMs !== undefined && expect.nowMs - expect.clockSkewMs >= sessionNotOnOrAfterMs) {
    throw refuse('session_not_on_or_after', 'the IdP session named in the AuthnStatement already ended (SessionNotOnOrAfter passed)');
  }
  const [context] = childElements(statement, A, 'AuthnContext');
  const [classRef] = context === undefined ? [] : childElements(context, A, 'AuthnContextClassRef');
  return {
    sessionIndex: attribute(statement, 'SessionIndex'),
    sessionNotOnOrAfterMs,
    authnContextClassRef: classRef === undefined ? undefined : textOf(classRef),
  };
}

/** Values by Name and by FriendlyName; repeated attributes are merged; xsi:nil values skipped. */
function readAttributes(assertion: Element): Readonly<Record<string, readonly string[]>> {
  const byName = new Map<string, string[]>();
  for (const statement of childElements(assertion, A, 'AttributeStatement')) {
    for (const attr of childElements(statement, A, 'Attribute')) {
      const values = childElements(attr, A, 'AttributeValue')
        .filter((value) => value.getAttributeNS(SAML_URI.xsiNs, 'nil') !== 'true')
        .map(textOf);
      const keys = new Set([attribute(attr, 'Name'), attribute(attr, 'FriendlyName')]);
      for (const key of keys) {
        if (key !== undefined && key !== '') byName.set(key, [...(byName.get(key) ?? []), ...values]);
      }
    }
  }
  return Object.freeze(Object.fromEntries([...byName].map(([key, values]) => [key, Object.freeze(values)])));
}

function onlyChild(parent: Element, localName: string, where: string): Element {
  const children = childElements(parent, A, localName);
  const [child] = children;
  if (children.length !== 1 || child === undefined) throw malformed(localName.toLowerCase(), `the ${where} must have exactly one ${localName}`);
  return child;
}

function optionalInstant(element: Element, name: string, where: string): number | undefined {
  const value = attribute(element, name);
  if (value === undefined) return undefined;
  const ms = SAML_INSTANT.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw malformed('timestamp', `the ${where} ${name} "${value.slice(0, 40)}" is not a UTC xs:dateTime`);
  return ms;
}

function requiredInstant(element: Element, name: string, where: string): number {
  const ms = optionalInstant(element, name, where);
  if (ms === undefined) throw malformed('timestamp', `the ${where} has no ${name}`);
  return ms;
}
