/**
 * SP metadata as the proxy serves it (`/_sso/saml/metadata`, `crowd-sso-proxy metadata`): golden file, well-formed
 * XML, one ACS per app host (first is default), the single logout URL, the signing key when configured.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOMParser } from '@xmldom/xmldom';
import t, { type Test } from 'tap';
import { loadConfig } from '../../../src/config/load-config.js';
import type { RuntimeConfig } from '../../../src/config/runtime-config.js';
import { ConfigError } from '../../../src/errors.js';
import { renderSpMetadata } from '../../../src/app/build-runtime.js';
import { SAML_URI } from '../../../src/saml/saml-uris.js';
import { ACS_URL, IDP_ENTITY_ID, OTHER_ACS_URL, SP_ENTITY_ID, SSO_URL, idpKeys, spKeys } from '../../support/saml-test-kit.js';

const golden = readFileSync(new URL('../../fixtures/saml/sp-metadata.golden.xml', import.meta.url), 'utf8');

const SLO_URL = 'https://jira.example.test/_sso/saml/slo';

/** Configuration keys of `saml`; `undefined` leaves a key out. */
type SamlChanges = Readonly<Record<string, unknown>>;

/**
 * The RuntimeConfig of a configuration file behind https with jira (jira.example.test) and wiki (wiki.example.test,
 * and `extraWikiHosts`), signing with the demo SP key, with `saml` changed by `changes`.
 */
async function loadTestConfig(t: Test, changes: SamlChanges = {}, extraWikiHosts: readonly string[] = []): Promise<RuntimeConfig> {
  const dir = mkdtempSync(join(tmpdir(), 'sp-metadata-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'sp.key'), spKeys.keyPem);
  writeFileSync(join(dir, 'sp.crt'), spKeys.certPem);
  writeFileSync(join(dir, 'idp.crt'), idpKeys.certPem);
  const saml: Record<string, unknown> = {
    spEntityId: SP_ENTITY_ID,
    idp: { entityId: IDP_ENTITY_ID, ssoUrl: SSO_URL, signingCerts: [{ file: 'idp.crt' }] },
    spPrivateKey: { file: 'sp.key' },
    spCertificateFile: 'sp.crt',
    signAuthnRequests: true,
  };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete saml[key];
    else saml[key] = value;
  }
  const raw = {
    publicScheme: 'https',
    stateSecret: 'test-state-secret-0123456789-abcdef',
    apps: [
      { name: 'jira', hosts: [new URL(ACS_URL).host], upstream: 'http://127.0.0.1:8080' },
      { name: 'wiki', hosts: [new URL(OTHER_ACS_URL).host, ...extraWikiHosts], upstream: 'http://127.0.0.1:8090' },
    ],
    crowd: { baseUrl: 'https://crowd.example.test/crowd', applicationName: 'crowd-sso-proxy', applicationPassword: 'app-secret' },
    saml,
  };
  const file = join(dir, 'proxy.config.json');
  writeFileSync(file, JSON.stringify(raw, null, 2));
  return loadConfig(file, { env: {} });
}

async function servedMetadata(t: Test, changes: SamlChanges = {}, extraWikiHosts: readonly string[] = []): Promise<string> {
  return renderSpMetadata(await loadTestConfig(t, changes, extraWikiHosts));
}

t.test('the served SP metadata matches the golden file', async (t) => {
  t.equal(await servedMetadata(t), golden);
});

t.test('the served SP metadata parses as XML, lists every app host as HTTP-POST ACS (index 0.., the first as default) and one SLO URL', async (t) => {
  const xml = await servedMetadata(t, {}, ['git.example.test:8443']);
  const document = new DOMParser({ onError: (level, message) => t.fail(`${level}: ${message}`) }).parseFromString(xml, 'text/xml');
  t.equal(document.documentElement?.getAttribute('entityID'), SP_ENTITY_ID);
  const descriptor = Array.from(document.getElementsByTagNameNS(SAML_URI.metadataNs, 'SPSSODescriptor'))[0];
  t.equal(descriptor?.getAttribute('AuthnRequestsSigned'), 'true');
  t.equal(descriptor?.getAttribute('WantAssertionsSigned'), 'false', 'the default saml.requireSignature "either" does not require the assertion\'s own signature');
  const acsUrls = [ACS_URL, OTHER_ACS_URL, 'https://git.example.test:8443/_sso/saml/acs'];
  const services = Array.from(document.getElementsByTagNameNS(SAML_URI.metadataNs, 'AssertionConsumerService'));
  t.same(
    services.map((service) => [service.getAttribute('Location'), service.getAttribute('index'), service.getAttribute('isDefault'), service.getAttribute('Binding')]),
    acsUrls.map((url, index) => [url, String(index), index === 0 ? 'true' : null, SAML_URI.bindingPost]),
  );
  const logout = Array.from(document.getElementsByTagNameNS(SAML_URI.metadataNs, 'SingleLogoutService'));
  t.same(
    logout.map((service) => [service.getAttribute('Binding'), service.getAttribute('Location')]),
    [
      [SAML_URI.bindingRedirect, SLO_URL],
      [SAML_URI.bindingPost, SLO_URL],
    ],
    'one single logout URL, on the first app host, for every host',
  );
  const keyDescriptor = Array.from(document.getElementsByTagNameNS(SAML_URI.metadataNs, 'KeyDescriptor'))[0];
  t.equal(keyDescriptor?.getAttribute('use'), 'signing');
});

t.test('without an SP certificate there is no KeyDescriptor, and unsigned requests are announced', async (t) => {
  const xml = await servedMetadata(t, { spPrivateKey: undefined, spCertificateFile: undefined, signAuthnRequests: false });
  t.notMatch(xml, /KeyDescriptor/);
  t.match(xml, /AuthnRequestsSigned="false"/);
});

t.test('WantAssertionsSigned says exactly what saml.requireSignature enforces', async (t) => {
  for (const [requireSignature, want] of [['either', 'false'], ['response', 'false'], ['assertion', 'true'], ['both', 'true']] as const) {
    t.match(await servedMetadata(t, { requireSignature }), `WantAssertionsSigned="${want}"`, requireSignature);
  }
});

t.test('metadata without any app host is a configuration error', async (t) => {
  const config = await loadTestConfig(t);
  t.throws(() => renderSpMetadata({ ...config, apps: [] }), ConfigError);
});
