/**
 * ACS: what is refused before any signature is looked at: non-base64, oversized, non-UTF-8,
 * non-XML, DTDs, messages that are not a Response, encrypted or missing assertions.
 */
import t, { type Test } from 'tap';
import { SamlMalformedError } from '../../../src/errors.js';
import { SAML_URI } from '../../../src/saml/saml-uris.js';
import { ACS_URL, createTestSp, elementsByName, goodResponse, goodResponseXml, mutateXml, newSamlId, only, refusal, toBase64 } from '../../support/saml-test-kit.js';

const sp = await createTestSp();

async function malformed(t: Test, samlResponse: string, detail: string): Promise<void> {
  const error = await refusal(sp.validateResponse({ samlResponse, acsUrl: ACS_URL, expectedRequestId: null }));
  t.type(error, SamlMalformedError);
  t.equal(error.detail, detail);
}

t.test('garbage that is not base64 is refused', async (t) => {
  await malformed(t, 'this is not base64!', 'not_base64');
  await malformed(t, '', 'not_base64');
  await malformed(t, 'PHNhbWxwOlJlc3BvbnNl=', 'not_base64');
});

t.test('base64 wrapped in lines (as some IdPs send it) is accepted', async (t) => {
  const id = newSamlId();
  const wrapped = (goodResponse(id).match(/.{1,76}/g) ?? []).join('\r\n');
  t.equal((await sp.validateResponse({ samlResponse: wrapped, acsUrl: ACS_URL, expectedRequestId: id })).nameId, 'alice');
});

t.test('a response larger than saml.maxMessageBytes is refused before decoding', async (t) => {
  const small = await createTestSp({ maxMessageBytes: 2_048 });
  const id = newSamlId();
  const error = await refusal(small.validateResponse({ samlResponse: goodResponse(id), acsUrl: ACS_URL, expectedRequestId: id }));
  t.type(error, SamlMalformedError);
  t.equal(error.detail, 'too_large');
  t.match(error.message, /saml\.maxMessageBytes/);
});

t.test('bytes that are not UTF-8 are refused', async (t) => {
  await malformed(t, Buffer.from([0x3c, 0xff, 0xfe, 0x3e]).toString('base64'), 'not_utf8');
});

t.test('text that is not XML is refused', async (t) => {
  await malformed(t, toBase64('hello, proxy'), 'not_xml');
  await malformed(t, toBase64('<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">'), 'not_xml');
});

t.test('a DOCTYPE (entity expansion, external entities) is refused, even in an otherwise valid response', async (t) => {
  const id = newSamlId();
  const xml = goodResponseXml(id);
  await malformed(t, toBase64(`<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "alice">]>${xml}`), 'doctype');
  await malformed(t, toBase64(`<!DOCTYPE r SYSTEM "http://127.0.0.1:1/x.dtd">${xml}`), 'doctype');
});

t.test('a message that is not a SAML Response is refused', async (t) => {
  const request = `<samlp:AuthnRequest xmlns:samlp="${SAML_URI.protocolNs}" ID="_x" Version="2.0" IssueInstant="2020-01-01T00:00:00Z"/>`;
  await malformed(t, toBase64(request), 'not_a_response');
});

t.test('an EncryptedAssertion is refused with a clear reason', async (t) => {
  const xml = mutateXml(goodResponseXml(undefined, { sign: 'response' }), (document) => {
    const assertion = only(elementsByName(document, SAML_URI.assertionNs, 'Assertion'));
    const encrypted = document.createElementNS(SAML_URI.assertionNs, 'saml:EncryptedAssertion');
    assertion.parentNode?.replaceChild(encrypted, assertion);
  });
  await malformed(t, toBase64(xml), 'encrypted_assertion');
});

t.test('a successful Response without any assertion is refused', async (t) => {
  await malformed(t, goodResponse(undefined, { withoutAssertion: true, sign: 'response' }), 'assertion_count');
});
