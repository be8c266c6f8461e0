/**
 * The deployment examples in examples/deploy are what administrators copy: each proxy configuration must load and
 * pass `check` once its site-specific values (URLs of Crowd, the IdP, the applications and Redis; paths of key files)
 * point at real servers, here the fake Crowd, the demo IdP, an echo upstream and a real redis-server. The nginx,
 * HAProxy and systemd files are checked by their own tools when those are installed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyEdits, modify, parse, type JSONPath } from 'jsonc-parser';
import t from 'tap';
import { readDemoKeyPair } from '../../../examples/demo/demo-keys.js';
import { startDemoIdp } from '../../../examples/demo/demo-idp.js';
import { startFakeCrowd } from '../../../examples/demo/fake-crowd.js';
import { runCheck } from '../../../src/cli/check/run-check.js';
import { isConfigError, loadConfig } from '../../../src/config/load-config.js';
import { redisServerMissing, startRedisServer } from '../../support/redis-server.js';
import { USERS } from '../../support/stack.js';
import { startUpstream } from '../../support/upstream-server.js';

const DEPLOY = fileURLToPath(new URL('../../../examples/deploy/', import.meta.url));
const ENV = {
  CROWD_SSO_PROXY_STATE_SECRET: 'deploy-example-state-secret-0123456789-abcdefghijkl',
  CROWD_SSO_PROXY_CROWD_PASSWORD: 'deploy-example-crowd-password',
  CROWD_SSO_PROXY_REDIS_PASSWORD: 'deploy-example-redis-password',
};

/** Key paths that name files of the target machine; loading the example as it is may fail on these only. */
const MACHINE_FILE_KEYS = ['listen.tls.certFile', 'listen.tls.keyFile', 'saml.spPrivateKey', 'saml.spCertificateFile'];

const dir = mkdtempSync(join(tmpdir(), 'crowd-sso-proxy-deploy-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const sp = readDemoKeyPair('sp');
const files = {
  cert: join(dir, 'tls-cert.pem'),
  key: join(dir, 'tls-key.pem'),
  haproxyPem: join(dir, 'haproxy.pem'),
};
writeFileSync(files.cert, sp.certPem);
writeFileSync(files.key, sp.keyPem);
writeFileSync(files.haproxyPem, `${sp.certPem.trim()}\n${sp.keyPem.trim()}\n`);

interface Sites {
  readonly crowdBaseUrl: string;
  readonly idpMetadataUrl: string;
  readonly upstreamUrl: string;
  readonly redisUrl: string | undefined;
}

/** The example's text with only its site-specific values replaced (comments and every other key stay as written). */
function localize(text: string, sites: Sites): string {
  const raw = parse(text) as { apps?: unknown[]; listen?: { tls?: unknown }; store?: unknown; saml?: Record<string, unknown> };
  const edits: [JSONPath, unknown][] = [
    [['crowd', 'baseUrl'], sites.crowdBaseUrl],
    [['saml', 'idp'], { metadataUrl: sites.idpMetadataUrl }],
    ...(raw.apps ?? []).map((_, index): [JSONPath, unknown] => [['apps', index, 'upstream'], sites.upstreamUrl]),
  ];
  if (raw.listen?.tls !== undefined) edits.push([['listen', 'tls'], { certFile: files.cert, keyFile: files.key }]);
  if (raw.saml?.['spPrivateKey'] !== undefined) edits.push([['saml', 'spPrivateKey'], { file: files.key }]);
  if (raw.saml?.['spCertificateFile'] !== undefined) edits.push([['saml', 'spCertificateFile'], files.cert]);
  if (raw.store !== undefined) edits.push([['store', 'redis', 'url'], sites.redisUrl]);
  let localized = text;
  for (const [path, value] of edits) {
    localized = applyEdits(localized, modify(localized, path, value, { formattingOptions: { insertSpaces: true, tabSize: 2 } }));
  }
  return localized;
}

t.test('every proxy configuration in examples/deploy loads and passes check against live servers', async (t) => {
  const crowd = await startFakeCrowd({
    cookieConfig: { name: 'crowd.token_key', domain: '.example.com', secure: true },
    applications: { 'crowd-sso-proxy': { password: ENV.CROWD_SSO_PROXY_CROWD_PASSWORD, allowGenerateUserTokens: true } },
  });
  t.teardown(() => crowd.close());
  const idpKeys = readDemoKeyPair('idp');
  const idp = await startDemoIdp({ keyPem: idpKeys.keyPem, certPem: idpKeys.certPem, users: USERS });
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const redis = redisServerMissing === undefined ? await startRedisServer(t, { password: ENV.CROWD_SSO_PROXY_REDIS_PASSWORD }) : undefined;
  const sites: Sites = { crowdBaseUrl: crowd.baseUrl, idpMetadataUrl: idp.metadataUrl, upstreamUrl: upstream.url, redisUrl: redis?.url };

  const examples = [
    { name: 'behind-nginx', expect: { publicScheme: 'https', trustedProxies: ['127.0.0.1', '::1'], listen: { host: '127.0.0.1', port: 8080 } } },
    { name: 'behind-haproxy', expect: { publicScheme: 'https', workers: 0, listen: { port: 8080 } } },
    {
      name: 'owns-443',
      expect: { publicScheme: 'https', trustedProxies: [], listen: { port: 443, httpRedirect: { port: 80 }, hsts: { maxAgeSeconds: 31536000 } } },
    },
  ];
  for (const example of examples) {
    const file = join(DEPLOY, example.name, 'proxy.config.json');
    const text = readFileSync(file, 'utf8');
    const usesRedis = (parse(text) as { store?: unknown }).store !== undefined;
    await t.test(example.name, { skip: usesRedis && redis === undefined ? (redisServerMissing ?? true) : false }, async (t) => {

      // As written: valid, except that the key files it names do not exist on this machine.
      const asWritten = await loadConfig(file, { env: ENV }).then(
        () => [],
        (error: unknown) => {
          if (!isConfigError(error)) throw error;
          return error.problems.map((problem) => problem.path);
        },
      );
      t.same(asWritten.filter((path) => !MACHINE_FILE_KEYS.includes(path)), [], 'only missing key files are reported');

      const localizedFile = join(dir, `${example.name}.config.json`);
      writeFileSync(localizedFile, localize(text, sites));
      const config = await loadConfig(localizedFile, { env: ENV });
      t.match(config, example.expect, 'the deployment-specific keys are as the example says');

      const report = await runCheck(config);
      t.ok(report.ok, `check passes:\n${report.items.map((item) => `  ${item.ok ? 'ok' : 'FAILED'} ${item.name}: ${item.detail}`).join('\n')}`);
    });
  }
});

t.test('the nginx snippet passes nginx -t', { skip: spawnSync('nginx', ['-v']).status === 0 ? false : 'nginx is not installed' }, async (t) => {
  const snippet = readFileSync(join(DEPLOY, 'behind-nginx', 'crowd-sso-proxy.conf'), 'utf8')
    .replace('/etc/nginx/tls/example.com.fullchain.pem', files.cert)
    .replace('/etc/nginx/tls/example.com.key', files.key);
  const prefix = mkdtempSync(join(dir, 'nginx-'));
  writeFileSync(join(prefix, 'crowd-sso-proxy.conf'), snippet);
  writeFileSync(join(prefix, 'nginx.conf'), `pid ${prefix}/nginx.pid;\nerror_log ${prefix}/error.log;\nevents {}\nhttp {\n  include ${prefix}/crowd-sso-proxy.conf;\n}\n`);
  const result = spawnSync('nginx', ['-t', '-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log')], { encoding: 'utf8' });
  t.equal(result.status, 0, result.status === 0 ? 'nginx -t accepts it' : result.stderr);
  t.notMatch(result.stderr, /\[warn\]/, 'no warnings');
});

t.test('the HAProxy configuration passes haproxy -c', { skip: spawnSync('haproxy', ['-v']).status === 0 ? false : 'haproxy is not installed' }, async (t) => {
  const configFile = join(dir, 'haproxy.cfg');
  writeFileSync(configFile, readFileSync(join(DEPLOY, 'behind-haproxy', 'haproxy.cfg'), 'utf8').replace('/etc/haproxy/tls/example.com.pem', files.haproxyPem));
  const result = spawnSync('haproxy', ['-c', '-f', configFile], { encoding: 'utf8' });
  t.equal(result.status, 0, result.status === 0 ? 'haproxy -c accepts it' : `${result.stdout}${result.stderr}`);
  t.notMatch(`${result.stdout}${result.stderr}`, /WARNING/, 'no warnings');
});

const systemdAnalyzeMissing =
  spawnSync('systemd-analyze', ['--version']).status !== 0 ? 'systemd-analyze is not installed' : !existsSync('/usr/bin/node') ? 'the unit runs /usr/bin/node, which is not here' : false;

t.test('the systemd unit is valid and grants CAP_NET_BIND_SERVICE only with the port-443 drop-in', { skip: systemdAnalyzeMissing }, async (t) => {
  const unitDir = mkdtempSync(join(dir, 'units-'));
  const unitFile = join(unitDir, 'crowd-sso-proxy.service');
  writeFileSync(unitFile, readFileSync(join(DEPLOY, 'systemd', 'crowd-sso-proxy.service')));
  const verify = spawnSync('systemd-analyze', ['verify', unitFile], { encoding: 'utf8' });
  t.equal(verify.status, 0, verify.stderr);
  t.equal(verify.stderr.trim(), '', 'no warnings');

  /** `systemd-analyze security` of the unit plus the drop-ins found next to it; fails on any warning. */
  const netBindLine = (): string => {
    const result = spawnSync('systemd-analyze', ['security', '--offline=true', unitFile], { encoding: 'utf8', env: { ...process.env, SYSTEMD_UNIT_PATH: `${unitDir}:` } });
    t.equal(result.stderr.trim(), '', 'no warnings');
    return result.stdout.split('\n').find((line) => line.includes('CAP_NET_(BIND_SERVICE')) ?? '';
  };
  t.match(netBindLine(), /^✓/, 'without the drop-in: no network privilege');
  mkdirSync(join(unitDir, 'crowd-sso-proxy.service.d'));
  writeFileSync(join(unitDir, 'crowd-sso-proxy.service.d', 'bind-443.conf'), readFileSync(join(DEPLOY, 'owns-443', 'bind-443.conf')));
  t.match(netBindLine(), /^✗/, 'with bind-443.conf: may bind ports below 1024');
});
