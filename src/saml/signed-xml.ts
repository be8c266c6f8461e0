/**
 * Enveloped XML signatures on the root of a SAML protocol message (HTTP-POST binding of logout messages):
 * verification against pinned certificates only, and signing with the SP key.
 *
 * Verification is strict: exactly one Signature in the document, a direct child of the root, with exactly one
 * Reference to the root's ID, only the enveloped-signature and exclusive-c14n transforms, and SHA-256/512
 * algorithms. The caller reads the message from the XML that xml-crypto returns as signed, never from the
 * original document (so nothing outside the signature can be smuggled in).
 */
import type { KeyObject } from 'node:crypto';
import type { Document, Element } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { SamlSignatureError } from '../errors.js';
import { SAML_URI } from './saml-uris.js';
import { attribute, childElements, descendantElements, rootElement } from './strict-xml.js';

const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ALLOWED_TRANSFORMS: ReadonlySet<string> = new Set([ENVELOPED, EXC_C14N]);
const ALLOWED_SIGNATURE_METHODS: ReadonlySet<string> = new Set([SAML_URI.rsaSha256, 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512']);
const ALLOWED_DIGESTS: ReadonlySet<string> = new Set(['http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2001/04/xmlenc#sha512']);

const refuse = (detail: string, message: string): SamlSignatureError =>
  new SamlSignatureError(`The SAML message was refused: ${message}.`, { detail, publicMessage: 'The sign-out message from your identity provider could not be verified.' });

/**
 * The canonical XML of the root element as signed by one of `certPems` (without its Signature), or a
 * SamlSignatureError. `xml` is the text `document` was parsed from.
 */
export function verifyRootSignature(xml: string, document: Document, certPems: readonly string[]): string {
  const root = rootElement(document);
  const signatures = descendantElements(document, SAML_URI.xmlDsigNs, 'Signature');
  const [signature] = signatures;
  if (signature === undefined) throw refuse('unsigned', 'it is not signed; the IdP must sign logout messages');
  if (signatures.length !== 1 || signature.parentNode !== root) {
    throw refuse('signature_placement', 'it must carry exactly one signature, directly on the message (signature-wrapping risk)');
  }
  checkSignedInfo(signature, attribute(root, 'ID'));
  for (const pem of certPems) {
    const verifier = new SignedXml({ publicCert: pem });
    verifier.loadSignature(signature);
    let valid = false;
    try {
      valid = verifier.checkSignature(xml);
    } catch {
      valid = false;
    }
    const signed = valid ? verifier.getSignedReferences() : [];
    if (signed.length === 1 && signed[0] !== undefined) return signed[0];
  }
  throw refuse(
    'signature',
    'its signature is not valid for any certificate pinned for the IdP (saml.idp); if the IdP changed its signing certificate, update the metadata',
  );
}

function checkSignedInfo(signature: Element, rootId: string | undefined): void {
  const [signedInfo] = childElements(signature, SAML_URI.xmlDsigNs, 'SignedInfo');
  const [method] = signedInfo === undefined ? [] : childElements(signedInfo, SAML_URI.xmlDsigNs, 'SignatureMethod');
  const references = signedInfo === undefined ? [] : childElements(signedInfo, SAML_URI.xmlDsigNs, 'Reference');
  const [reference] = references;
  if (method === undefined || reference === undefined || references.length !== 1) {
    throw refuse('signature_reference', 'its signature must have one SignatureMethod and exactly one Reference');
  }
  if (!ALLOWED_SIGNATURE_METHODS.has(attribute(method, 'Algorithm') ?? '')) {
    throw refuse('signature_algorithm', `the signature algorithm ${(attribute(method, 'Algorithm') ?? 'none').slice(0, 100)} is not accepted (use RSA-SHA256 or RSA-SHA512)`);
  }
  if (rootId === undefined || attribute(reference, 'URI') !== `#${rootId}`) {
    throw refuse('signature_reference', 'its signature does not reference the message itself');
  }
  const transforms = descendantElements(reference, SAML_URI.xmlDsigNs, 'Transform');
  if (transforms.length > 2 || transforms.some((transform) => !ALLOWED_TRANSFORMS.has(attribute(transform, 'Algorithm') ?? ''))) {
    throw refuse('signature_transforms', 'its signature uses transforms other than enveloped-signature and exclusive canonicalisation');
  }
  const [digest] = childElements(reference, SAML_URI.xmlDsigNs, 'DigestMethod');
  if (digest === undefined || !ALLOWED_DIGESTS.has(attribute(digest, 'Algorithm') ?? '')) {
    throw refuse('signature_algorithm', 'its digest algorithm is not accepted (use SHA-256 or SHA-512)');
  }
}

/** Signs the root element (enveloped, exclusive c14n, RSA-SHA256), placing the Signature right after its Issuer. */
export function signRoot(xml: string, rootLocalName: string, key: KeyObject, certificatePem: string | undefined): string {
  const rootXPath = `/*[local-name(.)='${rootLocalName}']`;
  const signer = new SignedXml({
    privateKey: key,
    publicCert: certificatePem,
    signatureAlgorithm: SAML_URI.rsaSha256,
    canonicalizationAlgorithm: EXC_C14N,
    getKeyInfoContent: certificatePem === undefined ? () => null : SignedXml.getKeyInfoContent,
  });
  signer.addReference({ xpath: rootXPath, transforms: [ENVELOPED, EXC_C14N], digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256' });
  signer.computeSignature(xml, { prefix: 'ds', location: { reference: `${rootXPath}/*[local-name(.)='Issuer']`, action: 'after' } });
  return signer.getSignedXml();
}
