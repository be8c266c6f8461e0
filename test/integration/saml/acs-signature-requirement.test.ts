/**
 * saml.requireSignature, with real signed responses for each value: which placements are accepted,
 * and that a required signature is really verified (present but made with a key the IdP does not
 * own is refused), not only looked for.
 */
import t from 'tap';
import { SamlSignatureError } from '../../../src/errors.js';
import type { SignatureRequirement } from '../../../src/config/runtime-config.js';
import { signSamlResponseXml } from '../../../examples/demo/saml-response.js';
import { ACS_URL, attackerKeys, createTestSp, goodResponse, goodResponseXml, idpKeys, newSamlId, refusal, toBase64 } from '../../support/saml-test-kit.js';

type Placement = 'assertion' | 'response' | 'both';

const ACCEPTED: Readonly<Record<SignatureRequirement, readonly Placement[]>> = {
  either: ['assertion', 'response', 'both'],
  assertion: ['assertion', 'both'],
  response: ['response', 'both'],
  both: ['both'],
};

for (const requirement of Object.keys(ACCEPTED) as SignatureRequirement[]) {
  t.test(`requireSignature "${requirement}" accepts ${ACCEPTED[requirement].join(', ')} and refuses the rest`, async (t) => {
    const sp = await createTestSp({ requireSignature: requirement });
    for (const sign of ['assertion', 'response', 'both'] as const) {
      const requestId = newSamlId();
      const validation = sp.validateResponse({ samlResponse: goodResponse(requestId, { sign }), acsUrl: ACS_URL, expectedRequestId: requestId });
      if (ACCEPTED[requirement].includes(sign)) {
        t.equal((await validation).nameId, 'alice', `${sign}-signed: accepted`);
      } else {
        const error = await refusal(validation);
        t.type(error, SamlSignatureError, `${sign}-signed: refused`);
        t.match(error.message, `saml.requireSignature is "${requirement}"`, 'the message names the key');
        t.match(error.detail, /^(response|assertion)_unsigned$/);
      }
    }
  });
}

/** The assertion signed by the IdP, the Response around it signed with a key the IdP does not own. */
function responseSignedByAttacker(requestId: string): string {
  const assertionSigned = goodResponseXml(requestId, { sign: 'assertion' });
  return toBase64(signSamlResponseXml(assertionSigned, 'response', attackerKeys.keyPem, attackerKeys.certPem));
}

/** The Response signed by the IdP over an assertion that carries an attacker's signature. */
function assertionSignedByAttacker(requestId: string): string {
  const assertionSigned = signSamlResponseXml(goodResponseXml(requestId, { sign: 'none' }), 'assertion', attackerKeys.keyPem, attackerKeys.certPem);
  return toBase64(signSamlResponseXml(assertionSigned, 'response', idpKeys.keyPem, idpKeys.certPem));
}

t.test('a required Response signature is verified: one made with another key is refused', async (t) => {
  for (const requirement of ['response', 'both'] as const) {
    const sp = await createTestSp({ requireSignature: requirement });
    const requestId = newSamlId();
    const error = await refusal(sp.validateResponse({ samlResponse: responseSignedByAttacker(requestId), acsUrl: ACS_URL, expectedRequestId: requestId }));
    t.type(error, SamlSignatureError, requirement);
  }
  // "either" and "assertion" rely on the assertion's valid signature; the Response's is not required.
  for (const requirement of ['either', 'assertion'] as const) {
    const sp = await createTestSp({ requireSignature: requirement });
    const requestId = newSamlId();
    const profile = await sp.validateResponse({ samlResponse: responseSignedByAttacker(requestId), acsUrl: ACS_URL, expectedRequestId: requestId });
    t.equal(profile.nameId, 'alice', `${requirement}: the IdP-signed assertion carries it`);
  }
});

t.test('a required Assertion signature is verified: one made with another key is refused, even inside a validly signed Response', async (t) => {
  for (const requirement of ['assertion', 'both'] as const) {
    const sp = await createTestSp({ requireSignature: requirement });
    const requestId = newSamlId();
    const error = await refusal(sp.validateResponse({ samlResponse: assertionSignedByAttacker(requestId), acsUrl: ACS_URL, expectedRequestId: requestId }));
    t.type(error, SamlSignatureError, requirement);
  }
});
