/** logFormat, accessLog and admin: defaults, checks with key paths, the --log-format override. */
import { join } from 'node:path';
import t from 'tap';
import { loadConfig } from '../../../src/config/load-config.js';
import { ConfigError } from '../../../src/errors.js';
import { demoKeyFiles, loadFrom, minimalConfig, withChanges } from './config-fixture.js';

t.test('by default: JSON lines, an access line per request, no admin listener (metrics off)', async (t) => {
  const { config } = await loadFrom(t.testdir(demoKeyFiles()), minimalConfig());
  t.equal(config?.logFormat, 'json');
  t.equal(config?.accessLog, true);
  t.equal(config?.admin, undefined);
});

t.test('an admin listener binds loopback unless told otherwise', async (t) => {
  const dir = t.testdir(demoKeyFiles());
  t.same((await loadFrom(dir, withChanges(minimalConfig(), { admin: { port: 9102 } }))).config?.admin, { host: '127.0.0.1', port: 9102 });
  t.same((await loadFrom(dir, withChanges(minimalConfig(), { admin: { host: '10.1.2.3', port: 9102 } }))).config?.admin, { host: '10.1.2.3', port: 9102 });
});

t.test('problems name the key', async (t) => {
  const dir = t.testdir(demoKeyFiles());
  const cases: [string, Record<string, unknown>, string[]][] = [
    ['an unknown log format', { logFormat: 'text' }, ['logFormat: must be one of "json", "pretty"']],
    ['admin without port', { admin: { host: '127.0.0.1' } }, ['admin: missing required key "port"']],
    ['admin on the proxy port', { admin: { port: 8080 } }, ['admin.port: must differ from listen.port (8080): the admin listener is a separate port, never reachable through the app hosts']],
    ['admin on a chosen proxy port', { 'listen.port': 9000, admin: { port: 9000 } }, ['admin.port: must differ from listen.port (9000): the admin listener is a separate port, never reachable through the app hosts']],
    ['a misspelt admin key', { admin: { port: 9102, hots: '0.0.0.0' } }, ['admin: unknown key "hots" (did you mean "host"?)']],
  ];
  for (const [name, changes, problems] of cases) t.same((await loadFrom(dir, withChanges(minimalConfig(), changes))).problems, problems, name);
});

t.test('--log-format overrides the file and is checked like it', async (t) => {
  const dir = t.testdir({ ...demoKeyFiles(), 'proxy.config.json': JSON.stringify({ ...minimalConfig(), logFormat: 'json' }) });
  const file = join(dir, 'proxy.config.json');
  t.equal((await loadConfig(file, { env: {}, logFormat: 'pretty' })).logFormat, 'pretty');
  t.equal((await loadConfig(file, { env: {} })).logFormat, 'json');
  await t.rejects(loadConfig(file, { env: {}, logFormat: 'xml' }), ConfigError);
});
