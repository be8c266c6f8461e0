/**
 * IdP metadata from a URL is fetched again periodically: a certificate rollover (old and new listed, then only the
 * new) is followed without a restart, and a failing metadata server leaves the last good metadata in use.
 */
import { X509Certificate } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { SamlSignatureError } from '../../../src/errors.js';
import { createLazyServiceProvider, type IdpMetadataRefresh } from '../../../src/saml/lazy-service-provider.js';
import { SAML_URI } from '../../../src/saml/saml-uris.js';
import { ACS_URL, attackerKeys, goodResponse, idpKeys, newSamlId, refusal, samlConfig } from '../../support/saml-test-kit.js';

const IDP = 'https://idp.example.test/saml/metadata';
/** A second key pair, standing for the IdP's next signing key. */
const nextKeys = attackerKeys;
const bareCert = (pem: string): string => pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;

function metadataXml(certPems: readonly string[]): string {
  const keys = certPems.map(
    (pem) => `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${bareCert(pem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
  );
  return [
    `<md:EntityDescriptor xmlns:md="${SAML_URI.metadataNs}" xmlns:ds="${SAML_URI.xmlDsigNs}" entityID="${IDP}">`,
    `<md:IDPSSODescriptor protocolSupportEnumeration="${SAML_URI.protocolNs}">`,
    ...keys,
    `<md:SingleSignOnService Binding="${SAML_URI.bindingRedirect}" Location="${IDP}/sso"/>`,
    '</md:IDPSSODescriptor>',
    '</md:EntityDescriptor>',
  ].join('\n');
}

t.test('a signing certificate rollover is followed, and a failed refresh keeps the last good metadata', async (t) => {
  let served: { status: number; body: string } = { status: 200, body: metadataXml([idpKeys.certPem]) };
  let fetches = 0;
  const server = createServer((_req, res) => {
    fetches += 1;
    res.writeHead(served.status, { 'content-type': 'application/samlmetadata+xml', connection: 'close' }).end(served.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metadata`;

  const refreshes: IdpMetadataRefresh[] = [];
  const waiters: { kind: IdpMetadataRefresh['kind']; resolve: (result: IdpMetadataRefresh) => void }[] = [];
  const sp = createLazyServiceProvider(samlConfig({ idp: { kind: 'metadata-url', url }, metadataRefreshMs: 50 }), {
    onLoadError: (error) => t.fail(`first load failed: ${String(error)}`),
    onRefresh: (result) => {
      refreshes.push(result);
      for (const waiter of waiters.filter((w) => w.kind === result.kind)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(result);
      }
    },
  });
  t.teardown(() => sp.close());
  const next = (kind: IdpMetadataRefresh['kind']): Promise<IdpMetadataRefresh> => new Promise((resolve) => waiters.push({ kind, resolve }));
  const login = (keys: typeof idpKeys): Promise<unknown> => {
    const id = newSamlId();
    return sp.validateResponse({
      samlResponse: goodResponse(id, { issuer: IDP, privateKeyPem: keys.keyPem, certPem: keys.certPem }),
      acsUrl: ACS_URL,
      expectedRequestId: id,
    });
  };

  await t.resolves(login(idpKeys), 'signed with the current key: accepted');
  t.type(await refusal(login(nextKeys)), SamlSignatureError, 'signed with the next key before the IdP publishes it: refused');
  t.equal((await next('unchanged')).kind, 'unchanged', 'the same metadata again is no change');

  served = { status: 200, body: metadataXml([idpKeys.certPem, nextKeys.certPem]) };
  const both = await next('changed');
  t.same(
    both.idp.signingCerts.map((cert) => cert.fingerprintSha256).sort(),
    [fingerprint(idpKeys.certPem), fingerprint(nextKeys.certPem)].sort(),
    'the rollover metadata lists both certificates',
  );
  await t.resolves(login(idpKeys), 'during the rollover: the current key is accepted');
  await t.resolves(login(nextKeys), 'during the rollover: the next key is accepted');

  served = { status: 500, body: 'maintenance' };
  const failed = await next('failed');
  t.match(String((failed as { error: unknown }).error), /HTTP 500/, 'the failure says what the server answered');
  t.equal(failed.idp.signingCerts.length, 2, 'the last good metadata stays in use');
  await t.resolves(login(nextKeys), 'while the metadata server fails: still accepted');
  await t.resolves(login(idpKeys), 'while the metadata server fails: still accepted');

  served = { status: 200, body: metadataXml([nextKeys.certPem]) };
  const after = await next('changed');
  t.same(after.idp.signingCerts.map((cert) => cert.fingerprintSha256), [fingerprint(nextKeys.certPem)]);
  await t.resolves(login(nextKeys), 'after the rollover: the new key is accepted');
  t.type(await refusal(login(idpKeys)), SamlSignatureError, 'after the rollover: the retired key is refused');
  t.ok(fetches >= 5, 'the metadata was fetched periodically');
});

t.test('metadata from a file or manual settings is not refreshed', async (t) => {
  const refreshes: IdpMetadataRefresh[] = [];
  const sp = createLazyServiceProvider(samlConfig({ metadataRefreshMs: 10 }), { onLoadError: () => undefined, onRefresh: (result) => refreshes.push(result) });
  t.teardown(() => sp.close());
  const id = newSamlId();
  await sp.validateResponse({ samlResponse: goodResponse(id), acsUrl: ACS_URL, expectedRequestId: id });
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.same(refreshes, []);
});
