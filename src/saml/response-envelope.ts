/**
 * Checks on the raw (not yet verified) Response before node-saml sees it. They can only refuse,
 * never accept, so running them on unverified XML is safe; they give the administrator a precise
 * reason for IdP errors, encrypted assertions and wrapped documents.
 */
import type { Document, Element } from '@xmldom/xmldom';
import { IdpStatusError, SamlMalformedError } from '../errors.js';
import { SAML_URI } from './saml-uris.js';
import { attribute, childElements, descendantElements, isElement, rootElement, textOf } from './strict-xml.js';

export interface ResponseEnvelope {
  readonly response: Element;
  /** The one Assertion, a direct child of the Response (not yet verified). */
  readonly assertion: Element;
  /** ID of the one Assertion in the document; the verified assertion must carry the same. */
  readonly assertionId: string;
}

export function checkResponseEnvelope(document: Document): ResponseEnvelope {
  const response = rootElement(document);
  if (!isElement(response, SAML_URI.protocolNs, 'Response')) {
    throw new SamlMalformedError(`The message posted to the ACS is a ${response.tagName}, not a SAML 2.0 samlp:Response.`, { detail: 'not_a_response' });
  }
  checkStatus(response);
  if (descendantElements(document, SAML_URI.assertionNs, 'EncryptedAssertion').length > 0) {
    throw new SamlMalformedError(
      'The SAML response carries an EncryptedAssertion; this proxy does not decrypt assertions. Configure the IdP to send the assertion signed but not encrypted (TLS protects it in transit).',
      { detail: 'encrypted_assertion' },
    );
  }
  const assertions = descendantElements(document, SAML_URI.assertionNs, 'Assertion');
  const [assertion] = assertions;
  if (assertions.length !== 1 || assertion === undefined || assertion.parentNode !== response) {
    throw new SamlMalformedError(
      `The SAML response must hold exactly one Assertion, directly inside the Response; it holds ${assertions.length} (anywhere in the document). Extra or nested assertions are refused as a signature-wrapping risk.`,
      { detail: 'assertion_count' },
    );
  }
  return { response, assertion, assertionId: attribute(assertion, 'ID') ?? '' };
}

function checkStatus(response: Element): void {
  const [status] = childElements(response, SAML_URI.protocolNs, 'Status');
  const [statusCode] = status === undefined ? [] : childElements(status, SAML_URI.protocolNs, 'StatusCode');
  const code = statusCode === undefined ? undefined : attribute(statusCode, 'Value');
  if (status === undefined || statusCode === undefined || code === undefined) {
    throw new SamlMalformedError('The SAML response has no Status/StatusCode.', { detail: 'status' });
  }
  if (code === SAML_URI.statusSuccess) return;
  const [nested] = childElements(statusCode, SAML_URI.protocolNs, 'StatusCode');
  const nestedCode = nested === undefined ? undefined : attribute(nested, 'Value');
  const [statusMessage] = childElements(status, SAML_URI.protocolNs, 'StatusMessage');
  const detail = nestedCode === undefined ? code : `${code} / ${nestedCode}`;
  throw new IdpStatusError(
    `The IdP answered with status ${detail}${statusMessage === undefined ? '' : ` ("${textOf(statusMessage).slice(0, 200)}")`} instead of Success: it did not authenticate the user. Look at the IdP's logs for this request.`,
    { detail },
  );
}
