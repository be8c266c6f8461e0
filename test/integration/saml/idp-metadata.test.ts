/** IdP metadata: from a file, from a URL (served locally, failing, hanging), and manual settings. */
import { X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { IdpUnavailableError } from '../../../src/errors.js';
import { loadIdpMetadata, parseIdpMetadata } from '../../../src/saml/idp-metadata.js';
import { SAML_URI } from '../../../src/saml/saml-uris.js';
import { ACS_URL, attackerKeys, createTestSp, goodResponse, idpKeys, newSamlId, refusal, samlConfig } from '../../support/saml-test-kit.js';

const IDP = 'https://idp.example.test/saml/metadata';
const bareCert = (pem: string): string => pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');

function entityXml(entityId: string, options: { certPem?: string; use?: string; sso?: boolean; extra?: string } = {}): string {
  const cert = options.certPem ?? idpKeys.certPem;
  return [
    `<md:EntityDescriptor xmlns:md="${SAML_URI.metadataNs}" xmlns:ds="${SAML_URI.xmlDsigNs}" entityID="${entityId}">`,
    `<md:IDPSSODescriptor protocolSupportEnumeration="${SAML_URI.protocolNs}">`,
    `<md:KeyDescriptor${options.use === undefined ? '' : ` use="${options.use}"`}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>`,
    bareCert(cert),
    '</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>',
    options.extra ?? '',
    `<md:SingleLogoutService Binding="${SAML_URI.bindingPost}" Location="${entityId}/slo-post"/>`,
    `<md:SingleLogoutService Binding="${SAML_URI.bindingRedirect}" Location="${entityId}/slo"/>`,
    `<md:SingleSignOnService Binding="${SAML_URI.bindingPost}" Location="${entityId}/sso-post"/>`,
    options.sso === false ? '' : `<md:SingleSignOnService Binding="${SAML_URI.bindingRedirect}" Location="${entityId}/sso"/>`,
    '</md:IDPSSODescriptor>',
    '</md:EntityDescriptor>',
  ].join('\n');
}

const entitiesXml = (...entities: string[]): string => `<md:EntitiesDescriptor xmlns:md="${SAML_URI.metadataNs}">${entities.join('')}</md:EntitiesDescriptor>`;

async function listen(t: Test, server: Server): Promise<string> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

t.test('metadata from a file: entityID, Redirect SSO URL, Redirect SLO URL, signing certificates with expiry', async (t) => {
  const dir = t.testdir({ 'idp.xml': `<?xml version="1.0" encoding="UTF-8"?>\n${entityXml(IDP, { extra: '' })}` });
  const metadata = await loadIdpMetadata(samlConfig({ idp: { kind: 'metadata-file', path: join(dir, 'idp.xml') } }));
  t.equal(metadata.entityId, IDP);
  t.equal(metadata.ssoUrl, `${IDP}/sso`);
  t.equal(metadata.sloUrl, `${IDP}/slo`);
  t.equal(metadata.signingCerts.length, 1);
  const x509 = new X509Certificate(idpKeys.certPem);
  t.equal(metadata.signingCerts[0]?.fingerprintSha256, x509.fingerprint256);
  t.equal(metadata.signingCerts[0]?.notAfter.getTime(), new Date(x509.validTo).getTime());
});

t.test('only signing keys are pinned: use="encryption" is ignored, no use means both', async (t) => {
  const encryptionKey = `<md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${bareCert(attackerKeys.certPem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
  const metadata = parseIdpMetadata(entityXml(IDP, { extra: encryptionKey }), { entityId: undefined, source: 'test' });
  t.same(
    metadata.signingCerts.map((cert) => cert.fingerprintSha256),
    [new X509Certificate(idpKeys.certPem).fingerprint256],
  );
});

t.test('a missing metadata file is reported against saml.idp.metadataFile', async (t) => {
  const error = await refusal(loadIdpMetadata(samlConfig({ idp: { kind: 'metadata-file', path: join(t.testdir(), 'missing.xml') } })));
  t.type(error, IdpUnavailableError);
  t.match(error.message, /saml\.idp\.metadataFile/);
});

t.test('metadata from a URL served by a local HTTP server, used by the service provider', async (t) => {
  const url = await listen(
    t,
    createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(entityXml(IDP))),
  );
  const sp = await createTestSp({ idp: { kind: 'metadata-url', url: `${url}/metadata` } });
  t.teardown(() => sp.close());
  t.match(sp.idp, { entityId: IDP, ssoUrl: `${IDP}/sso`, sloUrl: `${IDP}/slo` });
  t.type(sp.idp.signingCerts[0]?.notAfter, Date);
  await sp.checkReady();
  const id = newSamlId();
  t.equal((await sp.validateResponse({ samlResponse: goodResponse(id, { issuer: IDP }), acsUrl: ACS_URL, expectedRequestId: id })).nameId, 'alice');
});

t.test('a metadata URL that hangs fails within saml.metadataTimeoutMs with IdpUnavailableError', async (t) => {
  const url = await listen(t, createServer(() => undefined));
  const config = samlConfig({ idp: { kind: 'metadata-url', url: `${url}/metadata` }, metadataTimeoutMs: 300 });
  const error = await refusal(loadIdpMetadata(config));
  t.type(error, IdpUnavailableError);
  t.match(error.message, /saml\.idp\.metadataUrl/);
  t.match(error.message, /300 ms/);
  const fromSp = await refusal(createTestSp({ idp: config.idp, metadataTimeoutMs: 300 }));
  t.type(fromSp, IdpUnavailableError);
});

t.test('a metadata URL answering an error status, a redirect, or a huge body is refused', async (t) => {
  const url = await listen(
    t,
    createServer((req, res) => {
      if (req.url === '/missing') return res.writeHead(404).end('no');
      if (req.url === '/moved') return res.writeHead(302, { location: '/metadata' }).end();
      res.writeHead(200);
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      let sent = 0;
      const pump = (): void => {
        while (sent < 20 && res.write(chunk)) sent += 1;
        if (sent < 20) res.once('drain', pump);
        else res.end();
      };
      pump();
    }),
  );
  for (const path of ['/missing', '/moved', '/huge']) {
    const error = await refusal(loadIdpMetadata(samlConfig({ idp: { kind: 'metadata-url', url: `${url}${path}` } })));
    t.type(error, IdpUnavailableError, path);
    t.match(error.message, /saml\.idp\.metadataUrl/, path);
  }
});

t.test('an EntitiesDescriptor: saml.idpEntityId picks the entity; without it several IdPs are an error', async (t) => {
  const other = 'https://other-idp.example.test';
  const xml = entitiesXml(entityXml(other, { certPem: attackerKeys.certPem }), entityXml(IDP, { use: 'signing' }));
  const picked = parseIdpMetadata(xml, { entityId: IDP, source: 'test' });
  t.equal(picked.entityId, IDP);
  t.equal(picked.signingCerts[0]?.fingerprintSha256, new X509Certificate(idpKeys.certPem).fingerprint256);
  t.throws(() => parseIdpMetadata(xml, { entityId: undefined, source: 'test' }), { message: /saml\.idpEntityId/ });
  t.throws(() => parseIdpMetadata(xml, { entityId: 'https://nope.example.test', source: 'test' }), { message: /no IdP entity "https:\/\/nope/ });
  t.equal(parseIdpMetadata(entitiesXml(entityXml(IDP)), { entityId: undefined, source: 'test' }).entityId, IDP);
});

t.test('metadata that cannot be used is refused with the reason', async (t) => {
  const refused = (xml: string): unknown => parseIdpMetadata(xml, { entityId: undefined, source: 'test' });
  t.throws(() => refused(`<!DOCTYPE x [<!ENTITY e "e">]>${entityXml(IDP)}`), IdpUnavailableError);
  t.throws(() => refused(entityXml(IDP, { sso: false })), { message: /HTTP-Redirect/ });
  t.throws(() => refused(entityXml(IDP, { use: 'encryption' })), { message: /no signing certificate/ });
  t.throws(() => refused(entityXml(IDP, { certPem: 'bm90IGEgY2VydA==' })), { message: /not a readable X\.509 certificate/ });
  t.throws(() => refused('<html><body>Login</body></html>'), { message: /not SAML 2\.0 metadata/ });
  t.throws(() => refused('<md:EntityDescriptor'), { message: /not well-formed/ });
});

t.test('manual IdP settings are checked too', async (t) => {
  const manual = (signingCerts: string[], ssoUrl = 'https://idp.example.test/sso') =>
    loadIdpMetadata(samlConfig({ idp: { kind: 'manual', entityId: IDP, ssoUrl, sloUrl: undefined, signingCerts } }));
  t.equal((await manual([idpKeys.certPem])).signingCerts.length, 1);
  t.match((await refusal(manual(['garbage']))).message, /saml\.idp\.signingCerts\[0\]/);
  t.match((await refusal(manual([`${idpKeys.certPem}\n${attackerKeys.certPem}`]))).message, /one certificate per entry/);
  t.match((await refusal(manual([idpKeys.certPem], 'javascript:alert(1)'))).message, /saml\.idp\.ssoUrl/);
});
