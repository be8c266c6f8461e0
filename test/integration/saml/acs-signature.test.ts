/**
 * ACS: responses signed by the pinned IdP key are accepted in every signature placement, and
 * what an attacker can do with a real signed response (wrap it, add assertions, play with
 * comments) never yields an identity the IdP did not sign. (Forged signatures, moved signatures
 * and duplicate IDs are in acs-node-saml-messages.test.ts.)
 */
import type { Document, Element } from '@xmldom/xmldom';
import t from 'tap';
import { SamlMalformedError } from '../../../src/errors.js';
import type { SamlPort } from '../../../src/flows/ports.js';
import { SAML_URI } from '../../../src/saml/saml-uris.js';
import { signSamlResponseXml } from '../../../examples/demo/saml-response.js';
import {
  ACS_URL,
  IDP_ENTITY_ID,
  attackerKeys,
  createTestSp,
  elementsByName,
  goodResponse,
  goodResponseXml,
  idpKeys,
  mutateXml,
  newSamlId,
  only,
  refusal,
  spKeys,
  SSO_URL,
  toBase64,
} from '../../support/saml-test-kit.js';

// The flows use the service provider through SamlPort: the compiler checks that it fits.
const sp = (await createTestSp()) satisfies SamlPort;

/** An assertion the attacker wrote (unsigned), naming `nameId`, with a fresh ID. */
function attackerAssertion(document: Document, template: Element, nameId: string): Element {
  const forged = template.cloneNode(true) as Element;
  forged.setAttribute('ID', newSamlId());
  for (const signature of elementsByName(document, SAML_URI.xmlDsigNs, 'Signature')) {
    if (forged.contains(signature)) signature.parentNode?.removeChild(signature);
  }
  const nameIdElement = Array.from(forged.getElementsByTagNameNS(SAML_URI.assertionNs, 'NameID'))[0];
  if (nameIdElement !== undefined) nameIdElement.textContent = nameId;
  return forged;
}

const signedAssertionOf = (document: Document): Element => only(elementsByName(document, SAML_URI.assertionNs, 'Assertion'));

t.test('a response signed by the pinned IdP key is accepted, whichever element carries the signature', async (t) => {
  for (const sign of ['assertion', 'response', 'both'] as const) {
    const requestId = newSamlId();
    const profile = await sp.validateResponse({ samlResponse: goodResponse(requestId, { sign }), acsUrl: ACS_URL, expectedRequestId: requestId });
    t.equal(profile.nameId, 'alice', `${sign}: NameID`);
    t.equal(profile.issuer, IDP_ENTITY_ID, `${sign}: issuer`);
    t.equal(profile.inResponseTo, requestId, `${sign}: InResponseTo`);
  }
});

t.test('the profile carries NameID, session, attributes by Name and FriendlyName, and the earliest NotOnOrAfter', async (t) => {
  const requestId = newSamlId();
  const options = { notOnOrAfter: new Date(Date.now() + 4 * 60_000), subjectNotOnOrAfter: new Date(Date.now() + 2 * 60_000), assertionId: newSamlId() };
  const profile = await sp.validateResponse({ samlResponse: goodResponse(requestId, options), acsUrl: ACS_URL, expectedRequestId: requestId });
  t.match(profile, {
    nameId: 'alice',
    nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
    sessionIndex: '_session-1',
    assertionId: options.assertionId,
    authnContextClassRef: 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport',
    sessionNotOnOrAfterMs: undefined,
  });
  t.same(profile.attributes, {
    'urn:oid:0.9.2342.19200300.100.1.3': ['alice@example.test'],
    mail: ['alice@example.test'],
    groups: ['jira-users', 'confluence-users'],
  });
  t.equal(profile.notOnOrAfterMs, Math.floor(options.subjectNotOnOrAfter.getTime() / 1000) * 1000, 'SubjectConfirmationData expires first');
  t.ok(Object.isFrozen(profile) && Object.isFrozen(profile.attributes));
});

t.test('an IdP-initiated (unsolicited) response is accepted when no request ID is expected', async (t) => {
  const profile = await sp.validateResponse({ samlResponse: goodResponse(undefined), acsUrl: ACS_URL, expectedRequestId: null });
  t.equal(profile.inResponseTo, undefined);
  t.equal(profile.nameId, 'alice');
});

t.test('during a certificate rollover every pinned certificate is trusted, and only those', async (t) => {
  const rollover = await createTestSp({
    idp: { kind: 'manual', entityId: IDP_ENTITY_ID, ssoUrl: SSO_URL, sloUrl: undefined, signingCerts: [spKeys.certPem, idpKeys.certPem] },
  });
  const requestId = newSamlId();
  const profile = await rollover.validateResponse({ samlResponse: goodResponse(requestId), acsUrl: ACS_URL, expectedRequestId: requestId });
  t.equal(profile.nameId, 'alice');
  const forged = goodResponse(requestId, { privateKeyPem: attackerKeys.keyPem, certPem: attackerKeys.certPem });
  t.equal((await refusal(rollover.validateResponse({ samlResponse: forged, acsUrl: ACS_URL, expectedRequestId: requestId }))).code, 'ERR_SAML_SIGNATURE');
});

t.test('signature wrapping: an unsigned assertion added next to the signed one is refused', async (t) => {
  const requestId = newSamlId();
  for (const position of ['before', 'after'] as const) {
    const xml = mutateXml(goodResponseXml(requestId), (document) => {
      const signed = signedAssertionOf(document);
      const forged = attackerAssertion(document, signed, 'admin');
      signed.parentNode?.insertBefore(forged, position === 'before' ? signed : signed.nextSibling);
    });
    const error = await refusal(sp.validateResponse({ samlResponse: toBase64(xml), acsUrl: ACS_URL, expectedRequestId: requestId }));
    t.type(error, SamlMalformedError, position);
    t.equal(error.detail, 'assertion_count', position);
  }
});

t.test('signature wrapping: the signed assertion hidden in Extensions and a forged one in its place is refused', async (t) => {
  const requestId = newSamlId();
  const xml = mutateXml(goodResponseXml(requestId), (document) => {
    const signed = signedAssertionOf(document);
    const response = document.documentElement as Element;
    const extensions = document.createElementNS(SAML_URI.protocolNs, 'samlp:Extensions');
    const forged = attackerAssertion(document, signed, 'admin');
    forged.setAttribute('ID', signed.getAttribute('ID') ?? '');
    response.replaceChild(forged, signed);
    extensions.appendChild(signed);
    response.insertBefore(extensions, only(elementsByName(document, SAML_URI.protocolNs, 'Status')));
  });
  const error = await refusal(sp.validateResponse({ samlResponse: toBase64(xml), acsUrl: ACS_URL, expectedRequestId: requestId }));
  t.type(error, SamlMalformedError);
  t.equal(error.detail, 'assertion_count');
});

t.test('signature wrapping: a forged assertion nested inside the signed one (as Advice) is refused', async (t) => {
  const requestId = newSamlId();
  const unsigned = mutateXml(goodResponseXml(requestId, { sign: 'none' }), (document) => {
    const assertion = signedAssertionOf(document);
    const advice = document.createElementNS(SAML_URI.assertionNs, 'saml:Advice');
    advice.appendChild(attackerAssertion(document, assertion, 'admin'));
    assertion.insertBefore(advice, only(elementsByName(document, SAML_URI.assertionNs, 'AuthnStatement')));
  });
  // Signed by the real IdP: even a legitimately signed nested assertion is not accepted.
  const xml = signSamlResponseXml(unsigned, 'response', idpKeys.keyPem, idpKeys.certPem);
  const error = await refusal(sp.validateResponse({ samlResponse: toBase64(xml), acsUrl: ACS_URL, expectedRequestId: requestId }));
  t.equal(error.detail, 'assertion_count');
});

t.test('a comment inside the signed NameID does not truncate it (signature stays valid, full value used)', async (t) => {
  const requestId = newSamlId();
  const signed = goodResponseXml(requestId, { nameId: 'alice@example.test.evil.test' });
  const commented = signed.replace('>alice@example.test.evil.test<', '>alice@example.test<!---->.evil.test<');
  t.not(commented, signed);
  const profile = await sp.validateResponse({ samlResponse: toBase64(commented), acsUrl: ACS_URL, expectedRequestId: requestId });
  t.equal(profile.nameId, 'alice@example.test.evil.test');
});

t.test('the KeyInfo certificate in the response is ignored: only pinned certificates count', async (t) => {
  const requestId = newSamlId();
  // Signed by the attacker, announcing the IdP's own certificate in KeyInfo.
  const forged = goodResponse(requestId, { sign: 'both', privateKeyPem: attackerKeys.keyPem, certPem: idpKeys.certPem });
  t.equal((await refusal(sp.validateResponse({ samlResponse: forged, acsUrl: ACS_URL, expectedRequestId: requestId }))).code, 'ERR_SAML_SIGNATURE');
});
