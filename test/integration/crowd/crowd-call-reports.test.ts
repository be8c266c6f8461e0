/** What the Crowd client and the token cache tell the metrics: each call's endpoint and outcome, cache hits and misses. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { crowdConfig as sharedCrowdConfig } from '../../support/crowd-config.js';
import { startScriptedCrowd } from '../../support/scripted-crowd.js';
import type { CrowdConfig } from '../../../src/config/runtime-config.js';
import { createCrowdClient, type CrowdClient } from '../../../src/crowd/crowd-client.js';
import type { CrowdCallReport } from '../../../src/crowd/crowd-connection.js';
import { createTokenValidator } from '../../../src/crowd/token-validator.js';
import { startFakeCrowd } from '../../../examples/demo/fake-crowd.js';

const APP = 'sso-proxy';
const APP_PASSWORD = 'proxy-secret-2d81';
const FACTORS = [{ name: 'remote_address', value: '198.51.100.7' }];

function crowdConfig(baseUrl: string, overrides: Partial<CrowdConfig> = {}): CrowdConfig {
  return sharedCrowdConfig(baseUrl, { name: APP, password: APP_PASSWORD }, overrides);
}

function reportingClient(t: Test, baseUrl: string, overrides: Partial<CrowdConfig> = {}): { client: CrowdClient; reports: CrowdCallReport[] } {
  const reports: CrowdCallReport[] = [];
  const client = createCrowdClient(crowdConfig(baseUrl, overrides), { onCall: (report) => reports.push(report) });
  t.teardown(() => client.close());
  return { client, reports };
}

t.test('every call is reported once with its endpoint label (never a token or a name) and how it ended', async (t) => {
  const fake = await startFakeCrowd({ applications: { [APP]: { password: APP_PASSWORD, allowGenerateUserTokens: true } }, users: [{ name: 'alice' }] });
  t.teardown(() => fake.close());
  const { client, reports } = reportingClient(t, fake.baseUrl);

  const session = await client.createSession('alice', FACTORS);
  await client.validateSession(session.token, FACTORS);
  await client.validateSession('unknownTokenUnknownToken', FACTORS);
  await client.getUser('nobody-by-that-name');
  t.same(
    reports.map(({ endpoint, outcome }) => [endpoint, outcome]),
    [
      ['POST /session', 'ok'],
      ['POST /session/{token}', 'ok'],
      ['POST /session/{token}', 'ok'],
      ['GET /user', 'ok'],
    ],
    'an invalid token and an unknown user are ordinary answers',
  );
  for (const report of reports) t.ok(report.durationMs >= 0, `${report.endpoint}: a duration`);
  t.notMatch(JSON.stringify(reports), new RegExp(`${session.token}|unknownToken|nobody-by-that-name`));

  const { client: wrongPassword, reports: refused } = reportingClient(t, fake.baseUrl, { applicationPassword: 'not-the-password' });
  await t.rejects(wrongPassword.getCookieConfig());
  t.same(refused.map(({ endpoint, outcome }) => [endpoint, outcome]), [['GET /config/cookie', 'rejected']], 'Crowd refusing the application is an error');

  fake.settings.hang = true;
  const { client: impatient, reports: timedOut } = reportingClient(t, fake.baseUrl, { timeoutMs: 200 });
  await t.rejects(impatient.getUser('alice'));
  t.same(timedOut.map(({ outcome }) => outcome), ['timeout']);
});

t.test('server errors, answers that are not Crowd, and an unreachable Crowd', async (t) => {
  const cases: [string, string, string][] = [
    ['HTTP 500', await startScriptedCrowd(t, 500, 'text/html', '<h1>Internal Server Error</h1>'), 'server_error'],
    ['HTTP 503 with broken JSON', await startScriptedCrowd(t, 503, 'application/json', '{'), 'server_error'],
    ['HTTP 200 with broken JSON', await startScriptedCrowd(t, 200, 'application/json', '{"name":'), 'invalid_response'],
    ['HTTP 403 without a reason (address not allowed)', await startScriptedCrowd(t, 403, 'text/plain', 'Forbidden'), 'rejected'],
  ];
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address() as AddressInfo;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  cases.push(['nothing listening', `http://127.0.0.1:${port}/crowd`, 'unreachable']);

  for (const [name, baseUrl, outcome] of cases) {
    const { client, reports } = reportingClient(t, baseUrl);
    await client.getCookieConfig().catch(() => undefined);
    t.same(reports.map((report) => [report.endpoint, report.outcome]), [['GET /config/cookie', outcome]], name);
  }
});

t.test('the token cache tells hits from misses; a request that joins a call in flight is a hit; entries are counted', async (t) => {
  const fake = await startFakeCrowd({ applications: { [APP]: { password: APP_PASSWORD, allowGenerateUserTokens: true } }, users: [{ name: 'alice' }], latencyMs: 20 });
  t.teardown(() => fake.close());
  const { client } = reportingClient(t, fake.baseUrl);
  const lookups: boolean[] = [];
  const validator = createTokenValidator({ crowd: client, ttlMs: 60_000, negativeTtlMs: 5_000, maxEntries: 10, onLookup: (hit) => lookups.push(hit) });
  const { token } = await client.createSession('alice', FACTORS);

  t.equal(validator.entries(), 0);
  await Promise.all([validator.validate(token, FACTORS, 'k', '198.51.100.7'), validator.validate(token, FACTORS, 'k', '198.51.100.7')]);
  await validator.validate(token, FACTORS, 'k', '198.51.100.7');
  await validator.validate('unknownTokenUnknownToken', FACTORS, 'k', '198.51.100.7');
  t.same(lookups, [false, true, true, false], 'miss, joined, cached, miss');
  t.equal(fake.countCalls('POST', '/session/'), 2, 'misses are exactly the Crowd calls');
  t.equal(validator.entries(), 2, 'a valid and an invalid answer');
  validator.forget(token);
  t.equal(validator.entries(), 1);
});
