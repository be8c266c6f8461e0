/**
 * saml.requireSignature: which elements of a Response must be signed. node-saml verifies the
 * signatures (wantAuthnResponseSigned / wantAssertionsSigned); this checks first, on the raw
 * document, that the required signatures are there at all, so the administrator reads which one
 * the IdP left out instead of node-saml's "Invalid signature". It can only refuse.
 */
import type { SignatureRequirement } from '../config/runtime-config.js';
import { SamlSignatureError } from '../errors.js';
import type { ResponseEnvelope } from './response-envelope.js';
import { SAML_URI } from './saml-uris.js';
import { childElements } from './strict-xml.js';

export const requiresResponseSignature = (requirement: SignatureRequirement): boolean => requirement === 'response' || requirement === 'both';
export const requiresAssertionSignature = (requirement: SignatureRequirement): boolean => requirement === 'assertion' || requirement === 'both';

export function checkSignaturePresence(envelope: ResponseEnvelope, requirement: SignatureRequirement): void {
  const responseSigned = childElements(envelope.response, SAML_URI.xmlDsigNs, 'Signature').length > 0;
  const assertionSigned = childElements(envelope.assertion, SAML_URI.xmlDsigNs, 'Signature').length > 0;
  const missing =
    requiresResponseSignature(requirement) && !responseSigned ? 'response' : requiresAssertionSignature(requirement) && !assertionSigned ? 'assertion' : undefined;
  if (missing === undefined) return;
  const signed = responseSigned ? 'only the Response' : assertionSigned ? 'only the Assertion' : 'neither the Response nor the Assertion';
  throw new SamlSignatureError(
    `The SAML response was refused: saml.requireSignature is "${requirement}", so the ${missing === 'response' ? 'Response' : 'Assertion'} must be signed, but the IdP signed ${signed}. Configure the IdP to sign it, or set saml.requireSignature to what the IdP does ("either" accepts one of the two).`,
    { detail: `${missing}_unsigned` },
  );
}
