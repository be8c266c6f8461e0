/**
 * The SAML HTTP-Redirect binding (SAML bindings §3.4): DEFLATE + base64 in the query string, with the signature
 * over the exact query octets `SAMLRequest=…&RelayState=…&SigAlg=…` (values URL-encoded as sent).
 *
 * Outgoing messages are assembled and signed here (not with node-saml, which signs `querystring.stringify` output
 * but sends `URLSearchParams` encoding; an IdP verifying the raw query would refuse some RelayStates).
 * Incoming messages must be signed by a pinned IdP certificate (node-saml accepts unsigned redirect messages), and
 * the signature is checked over the raw octets as received, before anything is decoded.
 */
import { sign, verify, type KeyObject } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { SamlMalformedError, SamlSignatureError } from '../errors.js';
import { SAML_URI } from './saml-uris.js';

export type SamlMessageParam = 'SAMLRequest' | 'SAMLResponse';

/** Signature algorithms accepted on incoming messages (SHA-1 is refused). */
const HASH_BY_SIG_ALG: ReadonlyMap<string, string> = new Map([
  [SAML_URI.rsaSha256, 'sha256'],
  ['http://www.w3.org/2001/04/xmldsig-more#rsa-sha512', 'sha512'],
]);

/** base64(DEFLATE(xml)), the value of SAMLRequest / SAMLResponse. */
export function deflateSamlMessage(xml: string): string {
  return deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64');
}

/** `endpoint?param=…[&RelayState=…][&SigAlg=…&Signature=…]`; signed (rsa-sha256) when `key` is given. */
export function buildRedirectUrl(endpoint: string, param: SamlMessageParam, encodedMessage: string, relayState: string | undefined, key: KeyObject | undefined): string {
  let query = `${param}=${encodeURIComponent(encodedMessage)}`;
  if (relayState !== undefined && relayState !== '') query += `&RelayState=${encodeURIComponent(relayState)}`;
  if (key !== undefined) {
    query += `&SigAlg=${encodeURIComponent(SAML_URI.rsaSha256)}`;
    const signature = sign('sha256', Buffer.from(query, 'utf8'), key).toString('base64');
    query += `&Signature=${encodeURIComponent(signature)}`;
  }
  const base = endpoint.replace(/#.*$/, '');
  return `${base}${base.includes('?') ? '&' : '?'}${query}`;
}

export interface RedirectMessage {
  readonly param: SamlMessageParam;
  readonly xml: string;
  readonly relayState: string | undefined;
}

/** Only logout messages arrive over this binding, so the page speaks of signing out. */
const PUBLIC_UNREADABLE = 'The sign-out message from your identity provider could not be read.';
const malformed = (detail: string, message: string): SamlMalformedError =>
  new SamlMalformedError(`The SAML message in the query string ${message}.`, { detail, publicMessage: PUBLIC_UNREADABLE });
const unsigned = (detail: string, message: string): SamlSignatureError =>
  new SamlSignatureError(`The SAML message in the query string was refused: ${message}.`, { detail, publicMessage: 'The sign-out message from your identity provider could not be verified.' });

/**
 * Reads a Redirect-binding message from the raw query string: exactly one SAMLRequest or SAMLResponse, a SigAlg
 * from the accepted list and a Signature that one of `certPems` verifies. Throws SamlSignatureError when unsigned
 * or not verified, SamlMalformedError when the query or the DEFLATE data is broken or too large.
 */
export function readRedirectMessage(rawQuery: string, certPems: readonly string[], maxBytes: number): RedirectMessage {
  const raw = new Map<string, string>();
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = eq === -1 ? pair : pair.slice(0, eq);
    if (raw.has(name)) throw malformed('duplicate_parameter', `has the parameter ${name.slice(0, 40)} twice`);
    raw.set(name, eq === -1 ? '' : pair.slice(eq + 1));
  }
  const param: SamlMessageParam | undefined = raw.has('SAMLRequest') ? 'SAMLRequest' : raw.has('SAMLResponse') ? 'SAMLResponse' : undefined;
  if (param === undefined || (raw.has('SAMLRequest') && raw.has('SAMLResponse'))) {
    throw malformed('message_parameter', 'must have exactly one SAMLRequest or SAMLResponse parameter');
  }
  const rawSigAlg = raw.get('SigAlg');
  const rawSignature = raw.get('Signature');
  if (rawSigAlg === undefined || rawSignature === undefined) {
    throw unsigned('unsigned', 'it is not signed (no SigAlg/Signature); the IdP must sign logout messages');
  }
  const sigAlg = formDecode(rawSigAlg);
  const hash = HASH_BY_SIG_ALG.get(sigAlg);
  if (hash === undefined) throw unsigned('signature_algorithm', `the signature algorithm ${sigAlg.slice(0, 100)} is not accepted (use RSA-SHA256 or RSA-SHA512)`);

  const rawRelayState = raw.get('RelayState');
  const signedOctets = Buffer.from(
    `${param}=${raw.get(param) ?? ''}${rawRelayState === undefined ? '' : `&RelayState=${rawRelayState}`}&SigAlg=${rawSigAlg}`,
    'utf8',
  );
  const signature = Buffer.from(base64Value(formDecode(rawSignature)), 'base64');
  const verified = certPems.some((pem) => {
    try {
      return verify(hash, signedOctets, pem, signature);
    } catch {
      return false;
    }
  });
  if (!verified) {
    throw unsigned(
      'signature',
      'its signature is not valid for any certificate pinned for the IdP (saml.idp); if the IdP changed its signing certificate, update the metadata',
    );
  }
  return { param, xml: inflate(base64Value(formDecode(raw.get(param) ?? '')), maxBytes), relayState: rawRelayState === undefined ? undefined : formDecode(rawRelayState) };
}

/** application/x-www-form-urlencoded decoding of one value (`+` is a space). */
function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw malformed('encoding', 'is not correctly URL-encoded');
  }
}

/** Some senders leave `+` of base64 unencoded, which form decoding turned into spaces. */
function base64Value(value: string): string {
  return value.replace(/ /g, '+');
}

function inflate(base64: string, maxBytes: number): string {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length === 0) throw malformed('not_base64', 'is not base64');
  let bytes: Buffer;
  try {
    bytes = inflateRawSync(Buffer.from(base64, 'base64'), { maxOutputLength: maxBytes });
  } catch (error) {
    const tooLarge = (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
    throw new SamlMalformedError(
      tooLarge
        ? `The SAML message in the query string inflates to more than saml.maxMessageBytes (${maxBytes}) bytes.`
        : 'The SAML message in the query string is not DEFLATE-compressed data.',
      { detail: tooLarge ? 'too_large' : 'not_deflate', cause: error, publicMessage: PUBLIC_UNREADABLE },
    );
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new SamlMalformedError('The SAML message in the query string is not UTF-8 text.', { detail: 'not_utf8', cause: error, publicMessage: PUBLIC_UNREADABLE });
  }
}
