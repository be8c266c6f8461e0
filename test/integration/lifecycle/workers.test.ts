/**
 * `workers: 2` as real processes: one port served by both workers, a killed worker replaced, a reload applied by
 * every worker, a graceful stop.
 */
import { join } from 'node:path';
import t from 'tap';
import { Browser } from '../../support/browser.js';
import { startListeningProxy, writeConfigFrom, type LogLine } from '../../support/proxy-process.js';
import { HTML, loginAs } from '../../support/saml-login.js';
import { HOSTS, startStack } from '../../support/stack.js';

const WIKI = 'wiki.sso.test';

t.test('workers: 2 serve one port, survive a killed worker, reload on SIGHUP and stop on SIGTERM', async (t) => {
  const stack = await startStack(t);
  const file = join(t.testdir(), 'proxy.config.json');
  writeConfigFrom(stack.configPath, file, (raw) => {
    raw.workers = 2;
  });
  const { proxy, port } = await startListeningProxy(['serve', '-c', file], t, 'all workers listening');
  const listening = (from = 0): LogLine[] => proxy.logs.slice(from).filter((line) => line.msg === 'worker listening');
  const pids = listening().map((line) => line.workerPid as number);
  t.equal(new Set(pids).size, 2, 'two worker processes');

  const browser = new Browser((hostname) => (hostname.endsWith('.sso.test') ? port : undefined));
  await loginAs(stack, browser, HOSTS.echo);
  const servedBy = async (path: string, count: number): Promise<Set<unknown>> => {
    for (let i = 0; i < count; i++) {
      // A new connection each time, so that the primary hands each to the next worker.
      t.equal((await browser.request(`http://${HOSTS.echo}${path}`, { headers: { connection: 'close' } })).status, 200, `${path} #${i + 1}`);
    }
    const lines = await Promise.all(pids.map((pid) => proxy.waitForLog((line) => line.msg === 'request completed' && line.path === path && line.pid === pid)));
    return new Set(lines.map((line) => line.pid));
  };
  t.equal((await servedBy('/spread', 6)).size, 2, 'both workers answer requests');

  const [victim, survivor] = pids as [number, number];
  const beforeKill = proxy.logs.length;
  process.kill(victim, 'SIGKILL');
  const ended = await proxy.waitForLog((line) => line.msg === 'a worker ended unexpectedly (signal SIGKILL); starting a new one', beforeKill);
  t.equal(ended.workerPid, victim);
  t.equal((await browser.request(`http://${HOSTS.echo}/meanwhile`, { headers: { connection: 'close' } })).status, 200, 'the other worker keeps serving');
  const replacement = (await proxy.waitForLog((line) => line.msg === 'worker listening', beforeKill)).workerPid as number;
  t.not(replacement, victim, 'a new worker took its place');
  pids.splice(0, 2, replacement, survivor);

  writeConfigFrom(stack.configPath, file, (raw) => {
    raw.workers = 2;
    (raw.apps as object[]).push({ name: 'wiki', hosts: [WIKI], upstream: stack.echo.url });
  });
  const beforeReload = proxy.logs.length;
  proxy.kill('SIGHUP');
  const reloaded = await Promise.all(
    pids.map((pid) => proxy.waitForLog((line) => line.msg === 'configuration reloaded' && line.pid === pid, beforeReload)),
  );
  t.equal(reloaded.length, 2, 'every worker reloaded');
  for (let i = 0; i < 4; i++) {
    t.equal((await browser.request(`http://${WIKI}/`, { headers: { ...HTML, connection: 'close' } })).status, 200, `the new host, request #${i + 1}`);
  }

  proxy.kill('SIGTERM');
  const { code, stderr } = await proxy.exited;
  t.equal(code, 0);
  t.equal(stderr, '');
  t.ok(proxy.logs.some((line) => line.msg === 'crowd-sso-proxy stopped' && line.role === 'primary'));
  t.equal(proxy.logs.filter((line) => line.msg === 'crowd-sso-proxy stopped' && line.pid !== undefined).length, 2, 'both workers stopped gracefully');
});
