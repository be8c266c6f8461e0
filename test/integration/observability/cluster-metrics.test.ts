/** `workers: 2` with an admin listener: the primary serves the metrics of every worker, summed. */
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, startProxyProcess } from '../../support/proxy-process.js';

/** Crowd and the IdP refuse connections: the built-in health endpoint still answers. */
const CONFIG = {
  listen: { host: '127.0.0.1', port: 0 },
  admin: { host: '127.0.0.1', port: 0 },
  workers: 2,
  stateSecret: 'cluster-metrics-test-state-secret-0123456789',
  apps: [{ name: 'jira', hosts: ['jira.test:8080'], upstream: 'http://127.0.0.1:1' }],
  crowd: { baseUrl: 'http://127.0.0.1:1/crowd', applicationName: 'crowd-sso-proxy', applicationPassword: 'pw', timeoutMs: 1000 },
  saml: { spEntityId: 'http://jira.test:8080/_sso/saml/metadata', idp: { metadataUrl: 'http://127.0.0.1:1/metadata' }, metadataTimeoutMs: 1000 },
};

/** A request on a new connection each time, so that the primary hands them to both workers. */
function health(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/_sso/health', agent: false, headers: { host: 'jira.test:8080', connection: 'close' } }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end();
  });
}

t.before(() => {
  if (!existsSync(join(REPO_ROOT, 'dist/src/cli/main.js'))) throw new Error('dist/ is missing: run "npm run build" before these tests');
});

t.test('one admin listener in the primary; its /metrics add up the requests every worker answered', async (t) => {
  const dir = t.testdir({ 'proxy.config.json': JSON.stringify(CONFIG) });
  const proxy = startProxyProcess(['serve', '--config', join(dir, 'proxy.config.json')], t);
  const admin = await proxy.waitForLog((line) => line.msg === 'admin listener ready: /metrics, /health, /ready');
  t.equal(admin.role, 'primary', 'bound by the primary');
  const listening = await proxy.waitForLog((line) => line.msg === 'all workers listening');
  const adminUrl = `http://127.0.0.1:${String(admin.port)}`;

  const requests = 6;
  for (let i = 0; i < requests; i++) t.equal(await health(listening.port as number), 200);
  const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
  const series = 'crowd_sso_proxy_requests_total{app="jira",decision="internal",status_class="2xx"}';
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  t.equal(Number(line?.slice(series.length + 1)), requests, `all ${requests} requests (the primary deals new connections to the workers in turn)`);
  t.notOk(proxy.logs.some((l) => l.msg === 'admin listener ready: /metrics, /health, /ready' && l.role !== 'primary'), 'no worker binds the admin port');

  const ready = await fetch(`${adminUrl}/ready`);
  t.equal(ready.status, 200);
  t.match(await ready.json(), { status: 'ready', checks: { workers: '2 of 2 listening' } });

  proxy.kill('SIGTERM');
  t.equal((await proxy.exited).code, 0);
});
