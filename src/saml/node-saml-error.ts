/**
 * The one place where node-saml's error messages become typed errors. Each entry is a message
 * node-saml 5.1 throws from `validatePostResponseAsync` (or xml.getVerifiedXml) that this
 * proxy's configuration can reach; the original error is kept as `cause`.
 */
import { SamlConditionsError, SamlMalformedError, SamlSignatureError, type SsoProxyError } from '../errors.js';

type Kind = 'signature' | 'conditions' | 'malformed';

interface MessageMapping {
  readonly message: string;
  /** true: node-saml appends details (expected/received values) after this text. */
  readonly prefix: boolean;
  readonly kind: Kind;
  readonly detail: string;
}

const m = (message: string, kind: Kind, detail: string, prefix = false): MessageMapping => ({ message, prefix, kind, detail });

export const NODE_SAML_MESSAGES: readonly MessageMapping[] = Object.freeze([
  m('Invalid signature', 'signature', 'signature'),
  m('Invalid document signature', 'signature', 'response_signature'),
  m('Too many signatures found for this element', 'signature', 'signature'),
  m('Invalid signature, too many transforms', 'signature', 'signature'),
  m('Invalid signature: ID cannot refer to more than one element', 'signature', 'signature'),
  m("Invalid signature: Referenced node does not refer to it's parent element", 'signature', 'signature'),
  m('InResponseTo is not valid', 'conditions', 'in_response_to'),
  m('InResponseTo is missing from response', 'conditions', 'in_response_to'),
  m('InResponseTo does not match subjectInResponseTo', 'conditions', 'in_response_to'),
  m('No valid subject confirmation found among those available in the SAML assertion', 'conditions', 'subject_confirmation'),
  m('SAML assertion not yet valid', 'conditions', 'not_before'),
  m('SAML assertion expired: clocks skewed too much', 'conditions', 'not_on_or_after'),
  m('Unable to process multiple conditions in SAML assertion', 'conditions', 'conditions'),
  m('SAML assertion has no AudienceRestriction', 'conditions', 'audience'),
  m('SAML assertion AudienceRestriction has no Audience value', 'conditions', 'audience'),
  m('SAML assertion audience mismatch', 'conditions', 'audience', true),
  m('Error parsing ', 'malformed', 'timestamp', true),
]);

const HINTS: Readonly<Record<Kind, string>> = {
  signature:
    'it is not validly signed by a certificate pinned for the IdP (saml.idp). If the IdP changed its signing certificate, update the metadata or saml.idp.signingCerts',
  conditions: 'one of its conditions does not hold for this proxy (see detail); check the clocks, saml.spEntityId and the ACS URL configured at the IdP',
  malformed: 'it does not have the structure SAML 2.0 requires',
};

export function mapNodeSamlError(error: unknown): SsoProxyError {
  const text = error instanceof Error ? error.message : String(error);
  const mapping = NODE_SAML_MESSAGES.find((entry) => (entry.prefix ? text.startsWith(entry.message) : text === entry.message));
  if (mapping === undefined) {
    return new SamlMalformedError(`The SAML response was refused by node-saml: ${text}`, { detail: 'unrecognized', cause: error });
  }
  const message = `The SAML response was refused: ${HINTS[mapping.kind]} (node-saml: ${text}).`;
  const options = { detail: mapping.detail, cause: error };
  switch (mapping.kind) {
    case 'signature':
      return new SamlSignatureError(message, options);
    case 'conditions':
      return new SamlConditionsError(message, options);
    case 'malformed':
      return new SamlMalformedError(message, options);
  }
}
