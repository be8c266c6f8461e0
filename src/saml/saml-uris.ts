/** The fixed SAML 2.0 and XML-DSig URIs this module reads and writes. */
export const SAML_URI = Object.freeze({
  protocolNs: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertionNs: 'urn:oasis:names:tc:SAML:2.0:assertion',
  metadataNs: 'urn:oasis:names:tc:SAML:2.0:metadata',
  xmlDsigNs: 'http://www.w3.org/2000/09/xmldsig#',
  xsiNs: 'http://www.w3.org/2001/XMLSchema-instance',
  statusSuccess: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  bearer: 'urn:oasis:names:tc:SAML:2.0:cm:bearer',
  bindingRedirect: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  bindingPost: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
  nameIdEntity: 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity',
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
});
