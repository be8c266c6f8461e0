import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CONFIG_DEFAULTS } from '../../../src/config/compile-config.js';
import type { RuntimeConfig } from '../../../src/config/runtime-config.js';
import { demoKeyFiles, loadFrom, minimalConfig, REPO_ROOT, STATE_SECRET, withChanges } from './config-fixture.js';

async function compiled(dir: string, config: Record<string, unknown>, env: Record<string, string> = {}): Promise<RuntimeConfig> {
  const outcome = await loadFrom(dir, config, env);
  if (outcome.config === undefined) throw new Error(`unexpected problems: ${outcome.problems.join('; ')}`);
  return outcome.config;
}

interface SchemaNode {
  readonly default?: unknown;
  readonly $ref?: string;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly items?: SchemaNode;
}

/** Every `default` in the schema by key path, following `$ref` and `items` (`apps[]`). */
function schemaDefaults(root: SchemaNode & { definitions: Record<string, SchemaNode> }): Record<string, unknown> {
  const found: Record<string, unknown> = {};
  const visit = (node: SchemaNode, path: string): void => {
    const target = node.$ref === undefined ? node : root.definitions[node.$ref.replace('#/definitions/', '')]!;
    if (node.default !== undefined) found[path] = node.default;
    for (const [key, child] of Object.entries(target.properties ?? {})) visit(child, path === '' ? key : `${path}.${key}`);
    if (target.items !== undefined) visit(target.items, `${path}[]`);
  };
  visit(root, '');
  return found;
}

t.test('the defaults applied equal the defaults the schema shows in editors', async (t) => {
  const schema = JSON.parse(readFileSync(join(REPO_ROOT, 'schema/proxy.config.schema.json'), 'utf8')) as SchemaNode & { definitions: Record<string, SchemaNode> };
  t.same(schemaDefaults(schema), CONFIG_DEFAULTS);
});

t.test('a minimal configuration gets every default, in milliseconds where the runtime wants them', async (t) => {
  const dir = t.testdir(demoKeyFiles());
  const config = await compiled(dir, minimalConfig());
  t.same(config.listen, { host: '0.0.0.0', port: 8080, tls: undefined, httpRedirect: undefined, hsts: undefined, headersTimeoutMs: 20_000, keepAliveTimeoutMs: 65_000, maxConnections: undefined });
  t.equal(config.publicScheme, 'http');
  t.equal(config.pathPrefix, '/_sso');
  t.same(config.trustedProxies, []);
  t.equal(config.logLevel, 'info');
  t.same({ shutdownGraceMs: config.shutdownGraceMs, watchConfig: config.watchConfig, workers: config.workers }, { shutdownGraceMs: 25_000, watchConfig: false, workers: 1 });
  t.equal(config.configDir, dir);
  t.same(Buffer.from(config.stateSecret).toString('utf8'), STATE_SECRET);
  t.same(config.apps.map((a) => [a.name, a.hosts, a.upstream.href, a.startPath, a.upstreamTimeoutMs]), [['jira', ['jira.example.com'], 'http://127.0.0.1:8080/', '/', 300_000]]);
  t.same(config.crowd, {
    baseUrl: 'https://crowd.example.com/crowd',
    applicationName: 'crowd-sso-proxy',
    applicationPassword: 'app-secret',
    timeoutMs: 5000,
    cacheTtlMs: 60_000,
    negativeCacheTtlMs: 5000,
    cacheMaxEntries: 100_000,
    maxValidationsInFlightPerClient: 4,
    maxValidationsPerClientPerSecond: 10,
    cookieConfigTtlMs: 300_000,
    cookie: { name: undefined, domain: undefined, secure: undefined },
    validationFactors: { mode: 'client-ip' },
    sessionDurationSeconds: undefined,
  });
  t.same(config.saml, {
    spEntityId: 'https://jira.example.com/_sso/saml/metadata',
    idp: { kind: 'metadata-url', url: 'https://idp.example.com/metadata' },
    idpEntityId: undefined,
    nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
    spPrivateKey: undefined,
    spCertificate: undefined,
    signAuthnRequests: false,
    requireSignature: 'either',
    clockSkewMs: 60_000,
    loginTimeoutMs: 600_000,
    allowIdpInitiated: false,
    acsMaxBodyBytes: 262_144,
    bodyTimeoutMs: 20_000,
    maxLoginStartsPerClientPerMinute: 300,
    maxMessageBytes: 524_288,
    forceAuthn: false,
    maxSessionAgeMs: undefined,
    requireSsoSession: false,
    forceAuthnOnReauth: false,
    metadataTimeoutMs: 10_000,
    metadataRefreshMs: 3_600_000,
  });
});

t.test('the compiled configuration is frozen all the way down', async (t) => {
  const config = await compiled(t.testdir(demoKeyFiles()), minimalConfig());
  t.ok(Object.isFrozen(config));
  t.ok(Object.isFrozen(config.apps));
  t.ok(Object.isFrozen(config.apps[0]));
  t.ok(Object.isFrozen(config.crowd.validationFactors));
  t.ok(Object.isFrozen(config.saml.idp));
});

t.test('TLS in the proxy switches the port and public scheme defaults; files and PEMs are resolved against the config directory', async (t) => {
  const dir = t.testdir({ keys: demoKeyFiles() });
  const keys = demoKeyFiles();
  const config = await compiled(
    dir,
    withChanges(minimalConfig(), {
      'listen.tls': { certFile: 'keys/sp.crt', keyFile: 'keys/sp.key' },
      'saml.idp': { entityId: 'https://idp.example.com', ssoUrl: 'https://idp.example.com/sso', signingCerts: [{ file: 'keys/idp.crt' }, keys['idp.crt']] },
      'saml.spPrivateKey': { file: 'keys/sp.key' },
      'saml.spCertificateFile': 'keys/sp.crt',
    }),
  );
  t.match(config.listen, { host: '0.0.0.0', port: 8443, tls: { certFile: join(dir, 'keys/sp.crt'), keyFile: join(dir, 'keys/sp.key') } });
  t.equal(config.publicScheme, 'https');
  t.same(config.saml.idp, { kind: 'manual', entityId: 'https://idp.example.com', ssoUrl: 'https://idp.example.com/sso', sloUrl: undefined, signingCerts: [keys['idp.crt']!.trimEnd(), keys['idp.crt']] });
  t.equal(config.saml.spPrivateKey, keys['sp.key']!.trimEnd());
  t.equal(config.saml.spCertificate, keys['sp.crt']!.trimEnd());
  t.equal(config.saml.signAuthnRequests, true, 'signing defaults to on when an SP key is set');
});

t.test('HTTPS extras: the redirect listener binds listen.host unless told otherwise; HSTS defaults to one year', async (t) => {
  const dir = t.testdir(demoKeyFiles());
  const tls = { certFile: 'sp.crt', keyFile: 'sp.key' };
  const config = await compiled(dir, withChanges(minimalConfig(), { listen: { host: '10.0.0.5', tls, httpRedirect: { port: 80 }, hsts: {} } }));
  t.same(config.listen.httpRedirect, { host: '10.0.0.5', port: 80 });
  t.same(config.listen.hsts, { maxAgeSeconds: 31_536_000, includeSubDomains: false });
  const explicit = await compiled(
    dir,
    withChanges(minimalConfig(), { listen: { tls, httpRedirect: { host: '::', port: 8080 }, hsts: { maxAgeSeconds: 0, includeSubDomains: true } }, workers: 0, shutdownGraceSeconds: 0 }),
  );
  t.same(explicit.listen.httpRedirect, { host: '::', port: 8080 });
  t.same(explicit.listen.hsts, { maxAgeSeconds: 0, includeSubDomains: true });
  t.same([explicit.workers, explicit.shutdownGraceMs], [0, 0]);
});

t.test('a metadata file path becomes absolute', async (t) => {
  const dir = t.testdir({ idp: { 'metadata.xml': '<EntityDescriptor/>' } });
  const config = await compiled(dir, withChanges(minimalConfig(), { 'saml.idp': { metadataFile: 'idp/metadata.xml' } }));
  t.same(config.saml.idp, { kind: 'metadata-file', path: join(dir, 'idp/metadata.xml') });
});

t.test('hosts are lower-cased without the default port of the public scheme; addresses become CIDR ranges', async (t) => {
  const config = await compiled(
    t.testdir(),
    withChanges(minimalConfig(), {
      publicScheme: 'https',
      'apps[0].hosts': ['Jira.Example.COM:443', 'jira.example.com:8443', 'JIRA-alias:80'],
      trustedProxies: ['10.1.2.3', '10.0.0.0/8', '::1', 'fd00::/8'],
      'crowd.baseUrl': 'https://crowd.example.com/crowd/',
    }),
  );
  t.same(config.apps[0]!.hosts, ['jira.example.com', 'jira.example.com:8443', 'jira-alias:80']);
  t.same(config.trustedProxies, ['10.1.2.3/32', '10.0.0.0/8', '::1/128', 'fd00::/8']);
  t.equal(config.crowd.baseUrl, 'https://crowd.example.com/crowd');
});

t.test('explicit values win over defaults and are converted to milliseconds', async (t) => {
  const config = await compiled(
    t.testdir(),
    withChanges(minimalConfig(), {
      'apps[0].upstreamTimeoutSeconds': 30,
      'apps[0].startPath': '/secure/Dashboard.jspa',
      'crowd.cacheTtlSeconds': 0,
      'crowd.sessionDurationSeconds': 3600,
      'crowd.cookie': { name: 'crowd.token_key', domain: '.example.com', secure: true },
      'saml.clockSkewSeconds': 0,
      'saml.loginTimeoutSeconds': 120,
      'saml.signAuthnRequests': false,
      logLevel: 'debug',
    }),
  );
  t.equal(config.apps[0]!.upstreamTimeoutMs, 30_000);
  t.equal(config.apps[0]!.startPath, '/secure/Dashboard.jspa');
  t.equal(config.crowd.cacheTtlMs, 0);
  t.equal(config.crowd.sessionDurationSeconds, 3600);
  t.same(config.crowd.cookie, { name: 'crowd.token_key', domain: '.example.com', secure: true });
  t.equal(config.saml.clockSkewMs, 0);
  t.equal(config.saml.loginTimeoutMs, 120_000);
  t.equal(config.saml.signAuthnRequests, false);
  t.equal(config.logLevel, 'debug');
});
