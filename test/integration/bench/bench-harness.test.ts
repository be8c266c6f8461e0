/**
 * The benchmark harness in smoke mode: a few rows for a moment each, to prove that `npm run bench` starts its
 * servers, measures, counts Crowd calls and renders its report. Asserts what happened, never how fast.
 */
import t from 'tap';
import { findApacheMellon } from '../../../bench/apache-mellon.js';
import { findNginx } from '../../../bench/nginx-proxy.js';
import { renderReport } from '../../../bench/render-report.js';
import { runBench, type MeasuredRow } from '../../../bench/run-bench.js';

t.setTimeout(180_000);

t.test('a smoke run measures the selected rows, counts Crowd calls and renders the table', async (t) => {
  const progress: string[] = [];
  const report = await runBench({
    durationSeconds: 0.4,
    rounds: 2,
    warmupSeconds: 0,
    signedInUsers: 50,
    rows: ['small/http-proxy', 'small/nginx', 'small/sso-hit', 'small/sso-miss', 'small/apache-mellon', 'small/nginx-forward-auth', 'websocket/sso-hit'],
    memoryTokens: 3_000,
    logins: 3,
    crowdLatencyMs: 1,
    progress: (line) => progress.push(line),
  });

  t.same(
    report.rows.map((row) => row.id),
    ['small/http-proxy', 'small/nginx', 'small/sso-hit', 'small/sso-miss', 'small/apache-mellon', 'small/nginx-forward-auth', 'websocket/sso-hit'],
  );
  const measured = (id: string): MeasuredRow => {
    const row = report.rows.find((candidate) => candidate.id === id);
    if (row?.kind !== 'measured') throw new Error(`row ${id} was not measured: ${row?.kind === 'skipped' ? row.note : 'missing'}`);
    return row;
  };
  for (const id of ['small/http-proxy', 'small/sso-hit', 'small/sso-miss', 'websocket/sso-hit']) {
    const row = measured(id);
    t.ok(row.completed > 0, `${id}: completed requests`);
    t.equal(row.failures, 0, `${id}: no failed request`);
    t.ok(row.p99Ms >= row.p50Ms, `${id}: p99 ≥ p50`);
    t.ok(row.proxyCpuUs !== undefined && row.proxyCpuUs > 0, `${id}: CPU of the proxy process per request`);
  }

  const nginx = report.rows.find((row) => row.id === 'small/nginx');
  if (findNginx() === undefined) t.match(nginx, { kind: 'skipped', note: /nginx is not installed/ });
  else t.match(nginx, { kind: 'measured' });

  // The signed-in rows of other servers: every measured response a 2xx from the upstream, with the CPU of the setup.
  const others = [
    { id: 'small/apache-mellon', installed: findApacheMellon() !== undefined, missing: /mod_auth_mellon is not installed/ },
    { id: 'small/nginx-forward-auth', installed: findNginx() !== undefined, missing: /nginx is not installed/ },
  ];
  for (const { id, installed, missing } of others) {
    if (!installed) {
      t.match(report.rows.find((row) => row.id === id), { kind: 'skipped', note: missing }, `${id}: skipped without its server`);
      continue;
    }
    const row = measured(id);
    t.ok(row.completed > 0, `${id}: completed requests`);
    t.equal(row.failures, 0, `${id}: no failed request`);
    t.ok(row.proxyCpuUs !== undefined && row.proxyCpuUs > 0, `${id}: CPU of the setup per request`);
  }
  const forwardAuth = report.rows.find((row) => row.id === 'small/nginx-forward-auth');
  if (forwardAuth?.kind === 'measured') {
    t.same(Object.keys(forwardAuth.proxyCpuUsParts ?? {}), ['nginx', 'crowd-sso-proxy'], 'forward-auth: CPU of nginx and of crowd-sso-proxy');
    t.ok(forwardAuth.crowd !== undefined && forwardAuth.crowd.maxCallsPerToken <= 1, 'forward-auth: at most one Crowd call per token');
  }

  // Cache hits: every token was validated before the row, so the row itself needs Crowd at most once per token.
  const hit = measured('small/sso-hit');
  t.ok(hit.crowd !== undefined && hit.crowd.maxCallsPerToken <= 1, 'cache-hit row: at most one Crowd call per token');
  // Cache misses: a token never seen before costs exactly one Crowd call.
  const miss = measured('small/sso-miss');
  t.ok(miss.crowd !== undefined && miss.crowd.validateCalls > 0, 'cache-miss row: Crowd was asked');
  t.equal(miss.crowd?.maxCallsPerToken, 1, 'cache-miss row: one Crowd call per token');

  t.equal(report.login?.logins, 3);
  t.ok((report.login?.acsCpuMs ?? 0) > 0, 'ACS CPU per login measured in the proxy process');

  t.ok(report.memory !== undefined);
  const memory = report.memory;
  if (memory !== undefined) {
    t.equal(memory.crowdCalls, 3_000, 'every distinct token asked Crowd once');
    t.ok(memory.samples.every((sample) => sample.cacheEntries <= memory.maxEntries), 'cache bounded by crowd.cacheMaxEntries');
    t.equal(memory.samples.at(-1)?.tokensSeen, 3_000);
  }

  const markdown = renderReport(report);
  t.match(markdown, /\| load \| server \| req\/s \| failed \| × http-proxy \| p50 ms \| p99 ms \|/);
  t.match(markdown, /\| small page \(1 KiB\), 32 connections \| crowd-sso-proxy, cache hit \| [\d,]+ \| 0 \| [\d.]+× \|/);
  if (forwardAuth?.kind === 'measured' && report.rows.some((row) => row.id === 'small/apache-mellon' && row.kind === 'measured')) {
    t.match(markdown, /nginx \+ crowd-sso-proxy forward-auth [\d.]+× Apache httpd \+ mod_auth_mellon req\/s \(target ≥ 1\.2×\): (PASS|\*\*MISS\*\*)/);
  }
  t.match(markdown, /Login cost \(3 logins/);
  t.match(markdown, /Memory with 3,000 distinct tokens/);
  t.ok(progress.length > 0, 'progress reported');
});
