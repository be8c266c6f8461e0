/** SP metadata: golden file, well-formed XML, one ACS per URL (first is default), signing key when configured. */
import { readFileSync } from 'node:fs';
import { DOMParser } from '@xmldom/xmldom';
import t from 'tap';
import { ConfigError } from '../../../src/errors.js';
import { SAML_URI } from '../../../src/saml/saml-uris.js';
import { ACS_URL, OTHER_ACS_URL, SP_ENTITY_ID, createTestSp } from './saml-test-kit.js';

const golden = readFileSync(new URL('../../fixtures/saml/sp-metadata.golden.xml', import.meta.url), 'utf8');

t.test('the SP metadata matches the golden file', async (t) => {
  const sp = await createTestSp();
  t.equal(sp.metadataXml([ACS_URL, OTHER_ACS_URL]), golden);
});

t.test('the SP metadata parses as XML and lists every ACS URL with HTTP-POST, index 0.., the first as default', async (t) => {
  const sp = await createTestSp();
  const acsUrls = [ACS_URL, OTHER_ACS_URL, 'https://git.example.test/_sso/saml/acs?a=1&b="2"'];
  const document = new DOMParser({ onError: (level, message) => t.fail(`${level}: ${message}`) }).parseFromString(sp.metadataXml(acsUrls), 'text/xml');
  const entity = document.documentElement;
  t.equal(entity?.getAttribute('entityID'), SP_ENTITY_ID);
  const descriptor = Array.from(document.getElementsByTagNameNS(SAML_URI.metadataNs, 'SPSSODescriptor'))[0];
  t.equal(descriptor?.getAttribute('AuthnRequestsSigned'), 'true');
  t.equal(descriptor?.getAttribute('WantAssertionsSigned'), 'false', 'the default saml.requireSignature "either" does not require the assertion\'s own signature');
  const services = Array.from(document.getElementsByTagNameNS(SAML_URI.metadataNs, 'AssertionConsumerService'));
  t.same(
    services.map((service) => [service.getAttribute('Location'), service.getAttribute('index'), service.getAttribute('isDefault'), service.getAttribute('Binding')]),
    acsUrls.map((url, index) => [url, String(index), index === 0 ? 'true' : null, SAML_URI.bindingPost]),
  );
  const keyDescriptor = Array.from(document.getElementsByTagNameNS(SAML_URI.metadataNs, 'KeyDescriptor'))[0];
  t.equal(keyDescriptor?.getAttribute('use'), 'signing');
});

t.test('without an SP certificate there is no KeyDescriptor, and unsigned requests are announced', async (t) => {
  const sp = await createTestSp({ spCertificate: undefined, spPrivateKey: undefined, signAuthnRequests: false });
  const xml = sp.metadataXml([ACS_URL]);
  t.notMatch(xml, /KeyDescriptor/);
  t.match(xml, /AuthnRequestsSigned="false"/);
});

t.test('WantAssertionsSigned says exactly what saml.requireSignature enforces', async (t) => {
  for (const [requireSignature, want] of [['either', 'false'], ['response', 'false'], ['assertion', 'true'], ['both', 'true']] as const) {
    const sp = await createTestSp({ requireSignature });
    t.match(sp.metadataXml([ACS_URL]), `WantAssertionsSigned="${want}"`, requireSignature);
  }
});

t.test('metadata without any ACS URL is a configuration error', async (t) => {
  const sp = await createTestSp();
  t.throws(() => sp.metadataXml([]), ConfigError);
});
