/**
 * Turns a posted `SAMLResponse` (or, for logout, `SAMLRequest`) field into XML text, refusing anything that
 * is not strict base64 of at most `maxBytes` bytes of UTF-8. Nothing here is trusted yet.
 */
import { SamlMalformedError } from '../errors.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function decodeSamlResponse(samlResponse: string, maxBytes: number, field: 'SAMLResponse' | 'SAMLRequest' = 'SAMLResponse'): string {
  // Some IdPs wrap the base64 at 64/76 columns; whitespace carries no data.
  const compact = samlResponse.replace(/[\r\n\t ]+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !BASE64.test(compact)) {
    throw new SamlMalformedError(`The ${field} form field is not base64; the IdP or something between it and the proxy mangled the POST.`, {
      detail: 'not_base64',
    });
  }
  const decodedBytes = (compact.length / 4) * 3 - (compact.endsWith('==') ? 2 : compact.endsWith('=') ? 1 : 0);
  if (decodedBytes > maxBytes) {
    throw new SamlMalformedError(
      `The SAML message has ${decodedBytes} bytes, more than saml.maxMessageBytes (${maxBytes}). Raise saml.maxMessageBytes if your IdP sends many attributes.`,
      { detail: 'too_large' },
    );
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(compact, 'base64'));
  } catch (error) {
    throw new SamlMalformedError('The SAML message is not UTF-8 text.', { detail: 'not_utf8', cause: error });
  }
}
