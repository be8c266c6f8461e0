/**
 * ACS: the conditions the service provider checks itself on the verified assertion. Every
 * response here is validly signed by the IdP and passes node-saml (which reads the real clock),
 * so each refusal comes from our own check; the proxy's clock is injected to move in time.
 */
import t, { type Test } from 'tap';
import { IdpStatusError, SamlConditionsError } from '../../../src/errors.js';
import type { ServiceProvider } from '../../../src/saml/service-provider.js';
import { ACS_URL, CLOCK_SKEW_MS, IDP_ENTITY_ID, OTHER_ACS_URL, createTestSp, goodResponse, newSamlId, refusal } from '../../support/saml-test-kit.js';

const MINUTE_MS = 60_000;
const at = (offsetMs: number): Date => new Date(Date.now() + offsetMs);
const spNow = await createTestSp();
/** A service provider whose clock runs `offsetMs` ahead of (or behind) the real one. */
const spAt = (offsetMs: number): Promise<ServiceProvider> => createTestSp({}, { now: () => Date.now() + offsetMs });

async function conditionRefused(
  t: Test,
  sp: ServiceProvider,
  samlResponse: string,
  expectedRequestId: string | null,
  detail: string,
  acsUrl = ACS_URL,
): Promise<void> {
  const error = await refusal(sp.validateResponse({ samlResponse, acsUrl, expectedRequestId }));
  t.type(error, SamlConditionsError);
  t.equal(error.detail, detail);
  t.equal(error.cause, undefined, 'refused by our own check, not by node-saml');
}

t.test('a wrong Response Issuer is refused', async (t) => {
  const id = newSamlId();
  await conditionRefused(t, spNow, goodResponse(id, { responseIssuer: 'https://evil-idp.example.test' }), id, 'issuer');
});

t.test('a Response without Issuer is refused', async (t) => {
  const id = newSamlId();
  await conditionRefused(t, spNow, goodResponse(id, { responseIssuer: null }), id, 'issuer');
});

t.test('a signed assertion issued by another entity is refused', async (t) => {
  const id = newSamlId();
  await conditionRefused(t, spNow, goodResponse(id, { issuer: 'https://evil-idp.example.test', responseIssuer: IDP_ENTITY_ID }), id, 'issuer');
});

t.test('a Status other than Success is refused with the status code, even with a signed assertion', async (t) => {
  const id = newSamlId();
  const responder = 'urn:oasis:names:tc:SAML:2.0:status:Responder';
  for (const withoutAssertion of [false, true]) {
    const samlResponse = goodResponse(id, { statusCode: responder, statusMessage: 'Account locked', withoutAssertion, sign: 'response' });
    const error = await refusal(spNow.validateResponse({ samlResponse, acsUrl: ACS_URL, expectedRequestId: id }));
    t.type(error, IdpStatusError);
    t.equal(error.detail, responder);
    t.match(error.message, /Account locked/);
  }
});

t.test('a Response without Destination is refused', async (t) => {
  const id = newSamlId();
  await conditionRefused(t, spNow, goodResponse(id, { destination: undefined }), id, 'destination');
});

t.test('a Response for another ACS URL is refused (Destination)', async (t) => {
  const id = newSamlId();
  await conditionRefused(t, spNow, goodResponse(id, { destination: OTHER_ACS_URL }), id, 'destination');
});

t.test('a response for one app host posted to the ACS of another is refused', async (t) => {
  const id = newSamlId();
  await conditionRefused(t, spNow, goodResponse(id), id, 'destination', OTHER_ACS_URL);
});

t.test('a wrong or missing SubjectConfirmationData Recipient is refused', async (t) => {
  const id = newSamlId();
  await conditionRefused(t, spNow, goodResponse(id, { recipient: OTHER_ACS_URL }), id, 'recipient');
  await conditionRefused(t, spNow, goodResponse(id, { recipient: undefined }), id, 'recipient');
});

t.test('a subject confirmed other than by bearer is refused', async (t) => {
  const id = newSamlId();
  const holderOfKey = 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key';
  await conditionRefused(t, spNow, goodResponse(id, { subjectConfirmationMethod: holderOfKey }), id, 'subject_confirmation');
});

t.test('an expired SubjectConfirmationData NotOnOrAfter is refused', async (t) => {
  // Unsolicited: node-saml does not look at SubjectConfirmationData times then.
  await conditionRefused(t, spNow, goodResponse(undefined, { subjectNotOnOrAfter: at(-10 * MINUTE_MS) }), null, 'not_on_or_after');
  const id = newSamlId();
  const ahead = await spAt(7 * MINUTE_MS);
  await conditionRefused(t, ahead, goodResponse(id, { subjectNotOnOrAfter: at(5 * MINUTE_MS), notOnOrAfter: at(20 * MINUTE_MS) }), id, 'not_on_or_after');
});

t.test('a SubjectConfirmationData without NotOnOrAfter is refused', async (t) => {
  const error = await refusal(spNow.validateResponse({ samlResponse: goodResponse(undefined, { subjectNotOnOrAfter: null }), acsUrl: ACS_URL, expectedRequestId: null }));
  t.equal(error.code, 'ERR_SAML_MALFORMED');
  t.equal(error.detail, 'timestamp');
});

t.test('Conditions NotBefore in the future of the proxy clock is refused', async (t) => {
  const id = newSamlId();
  const behind = await spAt(-5 * MINUTE_MS);
  const samlResponse = goodResponse(id, { issueInstant: at(-6 * MINUTE_MS), notBefore: at(-5_000) });
  await conditionRefused(t, behind, samlResponse, id, 'not_before');
});

t.test('NotBefore within saml.clockSkewMs is accepted', async (t) => {
  const id = newSamlId();
  const samlResponse = goodResponse(id, { notBefore: at(CLOCK_SKEW_MS / 2) });
  t.equal((await spNow.validateResponse({ samlResponse, acsUrl: ACS_URL, expectedRequestId: id })).nameId, 'alice');
});

t.test('Conditions expired on the proxy clock are refused', async (t) => {
  const id = newSamlId();
  const ahead = await spAt(7 * MINUTE_MS);
  await conditionRefused(t, ahead, goodResponse(id, { notOnOrAfter: at(5 * MINUTE_MS), subjectNotOnOrAfter: at(20 * MINUTE_MS) }), id, 'not_on_or_after');
});

t.test('a SubjectConfirmationData without InResponseTo is refused when a login was started', async (t) => {
  const id = newSamlId();
  await conditionRefused(t, spNow, goodResponse(id, { subjectInResponseTo: null }), id, 'in_response_to');
});

t.test('an otherwise unsolicited response whose SubjectConfirmationData answers a request is refused', async (t) => {
  await conditionRefused(t, spNow, goodResponse(undefined, { subjectInResponseTo: newSamlId() }), null, 'in_response_to');
});

t.test('an IssueInstant older than saml.loginTimeoutMs is refused', async (t) => {
  const id = newSamlId();
  const ahead = await spAt(30 * MINUTE_MS);
  await conditionRefused(t, ahead, goodResponse(id, { notOnOrAfter: at(60 * MINUTE_MS) }), id, 'issue_instant');
});

t.test('an IssueInstant in the future is refused', async (t) => {
  const id = newSamlId();
  await conditionRefused(t, spNow, goodResponse(id, { issueInstant: at(10 * MINUTE_MS), notOnOrAfter: at(20 * MINUTE_MS) }), id, 'issue_instant');
});

t.test('an assertion whose IdP session already ended (SessionNotOnOrAfter) is refused', async (t) => {
  const id = newSamlId();
  await conditionRefused(t, spNow, goodResponse(id, { sessionNotOnOrAfter: at(-MINUTE_MS - CLOCK_SKEW_MS) }), id, 'session_not_on_or_after');
});
