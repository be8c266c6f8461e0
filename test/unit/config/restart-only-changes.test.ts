import t from 'tap';
import { restartOnlyChanges } from '../../../src/config/restart-only-changes.js';
import type { RuntimeConfig } from '../../../src/config/runtime-config.js';
import { demoKeyFiles, loadFrom, minimalConfig, withChanges } from './config-fixture.js';

async function compiled(dir: string, changes: Record<string, unknown>): Promise<RuntimeConfig> {
  const outcome = await loadFrom(dir, withChanges(minimalConfig(), changes), {});
  if (outcome.config === undefined) throw new Error(`unexpected problems: ${outcome.problems.join('; ')}`);
  return outcome.config;
}

t.test('the keys a reload cannot apply are named; everything else is left to the reload', async (t) => {
  const dir = t.testdir(demoKeyFiles());
  const tls = { certFile: 'sp.crt', keyFile: 'sp.key' };
  const started = await compiled(dir, { listen: { port: 8443, tls } });
  const cases: [string, Record<string, unknown>, string[]][] = [
    ['nothing that needs a restart', { listen: { port: 8443, tls }, logLevel: 'debug', 'crowd.cacheTtlSeconds': 5, shutdownGraceSeconds: 5, watchConfig: true }, []],
    ['other TLS files (read again on reload)', { listen: { port: 8443, tls: { certFile: 'idp.crt', keyFile: 'idp.key' } } }, []],
    ['HSTS (applied on reload)', { listen: { port: 8443, tls, hsts: {} } }, []],
    ['host and port', { listen: { host: '127.0.0.1', port: 9443, tls } }, ['listen.host', 'listen.port']],
    ['TLS switched off', { listen: { port: 8443 } }, ['listen.tls']],
    ['a redirect listener', { listen: { port: 8443, tls, httpRedirect: { port: 80 } } }, ['listen.httpRedirect']],
    ['workers, admin, log format', { listen: { port: 8443, tls }, workers: 2, admin: { port: 9100 }, logFormat: 'pretty' }, ['workers', 'admin', 'logFormat']],
  ];
  for (const [name, changes, expected] of cases) {
    t.same(restartOnlyChanges(started, await compiled(dir, changes)), expected, name);
  }
});
