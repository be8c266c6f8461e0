import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import t from 'tap';
import { isConfigError, loadConfig } from '../../../src/config/load-config.js';
import { ConfigError } from '../../../src/errors.js';
import { loadFrom, minimalConfig, REPO_ROOT, STATE_SECRET, withChanges } from './config-fixture.js';

const minimalJson = JSON.stringify(minimalConfig(), null, 2);

t.test('comments and trailing commas are allowed', async (t) => {
  const text = `// The proxy\n{\n  /* block */ "logLevel": "warn", // line\n${minimalJson.slice(1, -2)},\n}\n`;
  const outcome = await loadFrom(t.testdir(), text);
  t.same(outcome.problems, []);
  t.equal(outcome.config?.logLevel, 'warn');
});

t.test('a byte order mark is ignored', async (t) => {
  t.same((await loadFrom(t.testdir(), `\uFEFF${minimalJson}`)).problems, []);
});

t.test('the first syntax error is reported with line and column', async (t) => {
  const cases: [string, string[]][] = [
    ['{\n  "logLevel": "info"\n  "pathPrefix": "/_sso"\n}', ['syntax error at line 3, column 3: expected "," between entries']],
    ['{\n  logLevel: "info"\n}', ['syntax error at line 2, column 3: unexpected character']],
    ['{ "logLevel": "info" /* open', ['syntax error at line 1, column 22: the comment is not closed with "*/"']],
    ['', ['syntax error at line 1, column 1: expected a value']],
  ];
  const dir = t.testdir();
  for (const [text, problems] of cases) t.same((await loadFrom(dir, text)).problems, problems, JSON.stringify(text));
});

t.test('a key written twice is a problem rather than the last one silently winning', async (t) => {
  const text = minimalJson.replace('"stateSecret"', '"logLevel": "info",\n  "stateSecret"').replace('"apps"', '"logLevel": "debug",\n  "apps"');
  t.same((await loadFrom(t.testdir(), text)).problems, ['logLevel: written twice (line 2, column 3 and line 4, column 3); keep one']);
});

t.test('a __proto__ key is an unknown key, not a prototype', async (t) => {
  const text = minimalJson.replace('"crowd": {', '"crowd": { "__proto__": { "timeoutMs": 1 },');
  t.same((await loadFrom(t.testdir(), text)).problems, ['crowd: unknown key "__proto__"']);
});

t.test('a missing configuration file is one problem naming the path', async (t) => {
  const file = join(t.testdir(), 'nowhere.json');
  const error = await loadConfig(file, { env: {} }).catch((e: unknown) => e);
  t.ok(isConfigError(error));
  t.same((error as ConfigError).problems, [{ path: '', message: `cannot read "${file}": it does not exist` }]);
  t.notOk(isConfigError(new Error('other')));
});

t.test('secrets are read from the environment given, and a missing variable is named', async (t) => {
  const dir = t.testdir();
  const config = withChanges(minimalConfig(), { stateSecret: '${STATE}', 'crowd.applicationPassword': '${CROWD_PW:-demo-password}' });
  const loaded = await loadFrom(dir, config, { STATE: STATE_SECRET });
  t.equal(loaded.config?.crowd.applicationPassword, 'demo-password');
  t.equal(Buffer.from(loaded.config?.stateSecret ?? []).toString('utf8'), STATE_SECRET);
  t.same((await loadFrom(dir, config, { CROWD_PW: 'x' })).problems, ['stateSecret: environment variable STATE is not set']);
});

t.test('the log level given on the command line overrides the file and is checked like it', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'proxy.config.json');
  await loadFrom(dir, minimalConfig());
  t.equal((await loadConfig(file, { env: {}, logLevel: 'trace' })).logLevel, 'trace');
  const error = await loadConfig(file, { env: {}, logLevel: 'loud' }).catch((e: unknown) => e);
  t.same((error as ConfigError).problems.map((p) => p.path), ['logLevel']);
});

/**
 * Every self-contained configuration shipped with the project: the committed one and the examples.
 * The deployment examples need their secrets and certificate files; deploy-examples.test.ts loads them with those.
 */
function shippedConfigs(): string[] {
  const examples = readdirSync(join(REPO_ROOT, 'examples'), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.config.json') && !name.startsWith(`deploy${sep}`))
    .map((name) => join(REPO_ROOT, 'examples', name));
  return [join(REPO_ROOT, 'proxy.config.json'), ...examples];
}

t.test('every shipped configuration loads without problems', async (t) => {
  for (const file of shippedConfigs()) {
    const name = relative(REPO_ROOT, file);
    const config = await loadConfig(file, { env: {} }).catch((error: unknown) => {
      t.fail(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    });
    t.ok(config, name);
  }
});

t.test('the committed configuration runs the demo topology', async (t) => {
  const config = await loadConfig(join(REPO_ROOT, 'proxy.config.json'), { env: {} });
  t.match(config.listen, { host: '127.0.0.1', port: 8080, tls: undefined });
  t.same(config.apps.map((a) => [a.name, a.hosts, a.upstream.origin]), [
    ['jira', ['jira.localhost:8080'], 'http://127.0.0.1:8101'],
    ['confluence', ['confluence.localhost:8080'], 'http://127.0.0.1:8102'],
  ]);
  t.equal(config.crowd.baseUrl, 'http://127.0.0.1:8095/crowd');
  t.equal(config.crowd.applicationPassword, 'demo-password');
  t.same(config.saml.idp, { kind: 'metadata-url', url: 'http://localhost:9090/metadata' });
  t.equal(config.saml.signAuthnRequests, true);
  t.match(config.saml.spCertificate, /^-----BEGIN CERTIFICATE-----/);
  const overridden = await loadConfig(join(REPO_ROOT, 'proxy.config.json'), { env: { CROWD_SSO_PROXY_CROWD_PASSWORD: 'from-env' } });
  t.equal(overridden.crowd.applicationPassword, 'from-env');
});
