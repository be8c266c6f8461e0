/**
 * One forged or broken response per node-saml message the service provider maps, each
 * asserting the typed error, its detail and node-saml's original error as `cause`. The last
 * test proves every entry of the mapping table was exercised here.
 */
import type { Document, Element } from '@xmldom/xmldom';
import t from 'tap';
import { IdpStatusError, SamlConditionsError, SamlMalformedError, SamlSignatureError } from '../../../src/errors.js';
import { NODE_SAML_MESSAGES } from '../../../src/saml/node-saml-error.js';
import { SAML_URI } from '../../../src/saml/saml-uris.js';
import { signSamlResponseXml } from '../../../examples/demo/saml-response.js';
import {
  ACS_URL,
  attackerKeys,
  causeMessage,
  createTestSp,
  elementsByName,
  goodResponse,
  goodResponseXml,
  idpKeys,
  mutateXml,
  newSamlId,
  only,
  refusal,
  toBase64,
} from '../../support/saml-test-kit.js';

const sp = await createTestSp();
const seen = new Set<string>();
const MINUTE_MS = 60_000;

type ErrorClass = typeof SamlSignatureError | typeof SamlConditionsError | typeof SamlMalformedError | typeof IdpStatusError;

interface Scenario {
  readonly name: string;
  readonly expectedRequestId: string | null;
  readonly samlResponse: (requestId: string | null) => string;
  readonly errorClass: ErrorClass;
  readonly detail: string;
  /** A service provider with this saml.requireSignature instead of the default one. */
  readonly requireSignature?: 'response';
}

const requestIdOrNone = (requestId: string | null): string | undefined => requestId ?? undefined;
const at = (offsetMs: number): Date => new Date(Date.now() + offsetMs);

/** Builds a good unsigned document, lets `change` edit it, then signs the assertion with the IdP key. */
function editedThenSigned(requestId: string | null, change: (document: Document) => void): string {
  const xml = mutateXml(goodResponseXml(requestIdOrNone(requestId), { sign: 'none' }), change);
  return toBase64(signSamlResponseXml(xml, 'assertion', idpKeys.keyPem, idpKeys.certPem));
}

/** Signs a good response, then lets `change` edit the signed document. */
function signedThenEdited(requestId: string | null, change: (document: Document) => void): string {
  return toBase64(mutateXml(goodResponseXml(requestIdOrNone(requestId)), change));
}

const assertionSignature = (document: Document): Element =>
  only(elementsByName(document, SAML_URI.xmlDsigNs, 'Signature').filter((signature) => signature.parentNode?.localName === 'Assertion'));

const scenarios: readonly Scenario[] = [
  {
    name: 'an unsigned response is refused',
    expectedRequestId: newSamlId(),
    samlResponse: (id) => goodResponse(requestIdOrNone(id), { sign: 'none' }),
    errorClass: SamlSignatureError,
    detail: 'signature',
  },
  {
    name: 'a response signed with an untrusted key (its certificate in KeyInfo) is refused',
    expectedRequestId: newSamlId(),
    samlResponse: (id) => goodResponse(requestIdOrNone(id), { sign: 'both', privateKeyPem: attackerKeys.keyPem, certPem: attackerKeys.certPem }),
    errorClass: SamlSignatureError,
    detail: 'signature',
  },
  {
    name: 'a response whose NameID was changed after signing is refused',
    expectedRequestId: newSamlId(),
    samlResponse: (id) => toBase64(goodResponseXml(requestIdOrNone(id)).replace('>alice</saml:NameID>', '>admin</saml:NameID>')),
    errorClass: SamlSignatureError,
    detail: 'signature',
  },
  {
    name: "the assertion's signature moved up to the Response is refused",
    expectedRequestId: newSamlId(),
    samlResponse: (id) =>
      signedThenEdited(id, (document) => {
        const signature = assertionSignature(document);
        const response = document.documentElement as Element;
        signature.parentNode?.removeChild(signature);
        response.insertBefore(signature, only(elementsByName(document, SAML_URI.protocolNs, 'Status')));
      }),
    errorClass: SamlSignatureError,
    detail: 'signature',
  },
  {
    name: 'a second element carrying the signed assertion ID is refused',
    expectedRequestId: newSamlId(),
    samlResponse: (id) =>
      signedThenEdited(id, (document) => {
        const assertion = only(elementsByName(document, SAML_URI.assertionNs, 'Assertion'));
        (document.documentElement as Element).setAttribute('ID', assertion.getAttribute('ID') ?? '');
      }),
    errorClass: SamlSignatureError,
    detail: 'signature',
  },
  {
    name: 'an assertion with two signatures is refused',
    expectedRequestId: newSamlId(),
    samlResponse: (id) =>
      signedThenEdited(id, (document) => {
        const signature = assertionSignature(document);
        signature.parentNode?.insertBefore(signature.cloneNode(true), signature);
      }),
    errorClass: SamlSignatureError,
    detail: 'signature',
  },
  {
    name: 'a signature with more than two transforms is refused',
    expectedRequestId: newSamlId(),
    samlResponse: (id) =>
      signedThenEdited(id, (document) => {
        const transform = elementsByName(document, SAML_URI.xmlDsigNs, 'Transform')[0];
        transform?.parentNode?.appendChild(transform.cloneNode(true));
      }),
    errorClass: SamlSignatureError,
    detail: 'signature',
  },
  {
    name: 'a solicited response when an unsolicited one is expected is refused',
    expectedRequestId: null,
    samlResponse: () => goodResponse(newSamlId()),
    errorClass: SamlConditionsError,
    detail: 'in_response_to',
  },
  {
    name: 'a response to another login (wrong InResponseTo) is refused',
    expectedRequestId: newSamlId(),
    samlResponse: () => goodResponse(newSamlId()),
    errorClass: SamlConditionsError,
    detail: 'in_response_to',
  },
  {
    name: 'an unsolicited response when a request ID is expected is refused',
    expectedRequestId: newSamlId(),
    samlResponse: () => goodResponse(undefined),
    errorClass: SamlConditionsError,
    detail: 'in_response_to',
  },
  {
    name: 'a SubjectConfirmationData answering another request than the Response is refused',
    expectedRequestId: newSamlId(),
    samlResponse: (id) => goodResponse(requestIdOrNone(id), { subjectInResponseTo: newSamlId() }),
    errorClass: SamlConditionsError,
    detail: 'in_response_to',
  },
  {
    name: 'an expired SubjectConfirmationData is refused',
    expectedRequestId: newSamlId(),
    samlResponse: (id) => goodResponse(requestIdOrNone(id), { subjectNotOnOrAfter: at(-10 * MINUTE_MS) }),
    errorClass: SamlConditionsError,
    detail: 'subject_confirmation',
  },
  {
    name: 'Conditions NotBefore in the future is refused',
    expectedRequestId: newSamlId(),
    samlResponse: (id) => goodResponse(requestIdOrNone(id), { notBefore: at(10 * MINUTE_MS) }),
    errorClass: SamlConditionsError,
    detail: 'not_before',
  },
  {
    name: 'expired Conditions are refused',
    expectedRequestId: newSamlId(),
    samlResponse: (id) => goodResponse(requestIdOrNone(id), { notOnOrAfter: at(-10 * MINUTE_MS), subjectNotOnOrAfter: at(5 * MINUTE_MS) }),
    errorClass: SamlConditionsError,
    detail: 'not_on_or_after',
  },
  {
    name: 'an assertion with two Conditions elements is refused',
    expectedRequestId: newSamlId(),
    samlResponse: (id) =>
      editedThenSigned(id, (document) => {
        const conditions = only(elementsByName(document, SAML_URI.assertionNs, 'Conditions'));
        conditions.parentNode?.insertBefore(conditions.cloneNode(true), conditions);
      }),
    errorClass: SamlConditionsError,
    detail: 'conditions',
  },
  {
    name: 'Conditions without AudienceRestriction are refused',
    expectedRequestId: newSamlId(),
    samlResponse: (id) => goodResponse(requestIdOrNone(id), { audience: undefined }),
    errorClass: SamlConditionsError,
    detail: 'audience',
  },
  {
    name: 'an AudienceRestriction without Audience is refused',
    expectedRequestId: newSamlId(),
    samlResponse: (id) => goodResponse(requestIdOrNone(id), { audience: [] }),
    errorClass: SamlConditionsError,
    detail: 'audience',
  },
  {
    name: 'an assertion for another SP (wrong audience) is refused',
    expectedRequestId: newSamlId(),
    samlResponse: (id) => goodResponse(requestIdOrNone(id), { audience: 'https://other-sp.example.test' }),
    errorClass: SamlConditionsError,
    detail: 'audience',
  },
  {
    name: 'Conditions with NotBefore but no NotOnOrAfter are refused as unreadable timestamps',
    expectedRequestId: newSamlId(),
    samlResponse: (id) => goodResponse(requestIdOrNone(id), { notOnOrAfter: undefined, subjectNotOnOrAfter: at(5 * MINUTE_MS) }),
    errorClass: SamlMalformedError,
    detail: 'timestamp',
  },
  {
    name: 'with saml.requireSignature "response", a Response signed by another key is refused though its assertion is validly signed',
    expectedRequestId: newSamlId(),
    samlResponse: (id) =>
      toBase64(signSamlResponseXml(goodResponseXml(requestIdOrNone(id), { sign: 'assertion' }), 'response', attackerKeys.keyPem, attackerKeys.certPem)),
    errorClass: SamlSignatureError,
    detail: 'response_signature',
    requireSignature: 'response',
  },
];
const responseSignedSp = await createTestSp({ requireSignature: 'response' });

for (const scenario of scenarios) {
  t.test(scenario.name, async (t) => {
    const error = await refusal(
      (scenario.requireSignature === undefined ? sp : responseSignedSp).validateResponse({
        samlResponse: scenario.samlResponse(scenario.expectedRequestId),
        acsUrl: ACS_URL,
        expectedRequestId: scenario.expectedRequestId,
      }),
    );
    t.type(error, scenario.errorClass);
    t.equal(error.detail, scenario.detail);
    const message = causeMessage(error);
    const mapping = NODE_SAML_MESSAGES.find((entry) => (entry.prefix ? message.startsWith(entry.message) : message === entry.message));
    t.ok(mapping, `node-saml's message is a mapped one: ${message}`);
    if (mapping !== undefined) seen.add(mapping.message);
  });
}

t.test('a failure node-saml reports in no mapped words (assertion without Conditions) is still refused, as malformed', async (t) => {
  const requestId = newSamlId();
  const error = await refusal(sp.validateResponse({ samlResponse: goodResponse(requestId, { withoutConditions: true }), acsUrl: ACS_URL, expectedRequestId: requestId }));
  t.type(error, SamlMalformedError);
  t.equal(error.detail, 'unrecognized');
  t.type(error.cause, Error);
});

t.test('every node-saml message in the mapping table is exercised by a scenario above', async (t) => {
  t.same([...seen].sort(), NODE_SAML_MESSAGES.map((entry) => entry.message).sort());
});
