/**
 * A flood of made-up `crowd.token_key` cookies against the whole stack: Crowd serves every Atlassian application of
 * the company, so what the junk may cost it is bounded, and signed-in users are served while it lasts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { createCrowdClient } from '../../../src/crowd/crowd-client.js';
import { startFakeCrowd } from '../../../examples/demo/fake-crowd.js';
import { crowdConfig } from '../../support/crowd-config.js';
import { loginAs } from '../../support/saml-login.js';
import { HOSTS, startStack, type Stack } from '../../support/stack.js';

const JSON_ACCEPT = { accept: 'application/json' };
const CACHE_TTL_MS = 60_000;

/** The proxy's clock: stands still unless moved, so that what the budget allows does not depend on the machine's speed. */
function clock(): { now: () => number; advance: (ms: number) => void } {
  let nowMs = Date.now();
  return { now: () => nowMs, advance: (ms) => (nowMs += ms) };
}

let junkSerial = 0;
/** A token Crowd never issued, 24 characters like Crowd's own. */
function junkToken(): string {
  junkSerial += 1;
  return `Junk${String(junkSerial).padStart(20, '0')}`;
}

/** Token validations the fake Crowd has received. */
function validations(stack: Stack): number {
  return stack.crowd.countCalls('POST', '/session/');
}

/** Requests to the echo app with made-up cookies; `from` gives the client address a trusted front proxy reports. */
function junkRequests(stack: Stack, count: number, options: { cookies: number; from?: (index: number) => string }): Promise<number[]> {
  const browser = stack.browser();
  return Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const cookie = Array.from({ length: options.cookies }, () => `crowd.token_key=${junkToken()}`).join('; ');
      const from: Record<string, string> = options.from === undefined ? {} : { 'x-forwarded-for': options.from(index) };
      return (await browser.request(`http://${HOSTS.echo}/api/${index}`, { headers: { ...JSON_ACCEPT, ...from, cookie } })).status;
    }),
  );
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(5);
}

/** Signs alice in through the echo app; her first request validates the new token and caches the answer. */
async function signedIn(stack: Stack): Promise<{ browser: ReturnType<Stack['browser']>; token: string }> {
  const browser = stack.browser();
  const token = await loginAs(stack, browser, HOSTS.echo);
  const first = await browser.request(`http://${HOSTS.echo}/signed-in`, { headers: JSON_ACCEPT });
  if (first.status !== 200) throw new Error(`alice's first request after login: ${first.status}`);
  return { browser, token };
}

t.test('100 requests from one address with three made-up cookies each make a bounded number of Crowd calls', async (t) => {
  const time = clock();
  const stack = await startStack(t, { now: time.now, config: { admin: { host: '127.0.0.1', port: 0 } } });
  const statuses = await junkRequests(stack, 100, { cookies: 3 });
  t.same(new Set(statuses), new Set([401]), 'each answered as without a session');
  const calls = validations(stack);
  t.ok(calls <= stack.config.crowd.maxValidationsPerClientPerSecond, `${calls} Crowd calls for 300 made-up tokens (at most crowd.maxValidationsPerClientPerSecond)`);

  const warnings = stack.logs.filter((line) => line.reason === 'crowd_validations_refused');
  t.equal(warnings.length, 1, 'one warning for the address, not one per refusal');
  t.match(warnings[0], { level: 40, clientIp: '127.0.0.1', msg: /crowd\.maxValidations(InFlightPerClient|PerClientPerSecond)/ });
  const address = stack.proxy.adminAddress();
  const metrics = await (await fetch(`http://127.0.0.1:${address?.port ?? 0}/metrics`)).text();
  const refused = metrics
    .split('\n')
    .filter((line) => line.startsWith('crowd_sso_proxy_crowd_validations_refused_total{'))
    .reduce((sum, line) => sum + Number(line.split(' ')[1]), 0);
  t.ok(refused > 0, `${refused} refusals counted`);
});

t.test('made-up tokens never push a signed-in user out of a small token cache', async (t) => {
  const stack = await startStack(t, { config: { trustedProxies: ['127.0.0.1'], crowd: { cacheMaxEntries: 5 } } });
  const { browser, token } = await signedIn(stack);
  const asked = (): number => stack.crowd.countCalls('POST', `/session/${token}`);
  const before = asked();
  // One after the other from 40 addresses: each made-up token is answered by Crowd and remembered as invalid.
  for (let index = 0; index < 40; index++) t.equal((await junkRequests(stack, 1, { cookies: 1, from: () => `198.51.100.${index + 1}` }))[0], 401);
  t.equal((await browser.request(`http://${HOSTS.echo}/after-junk`, { headers: JSON_ACCEPT })).status, 200);
  t.equal(asked() - before, 0, "alice's answer was still cached: Crowd was not asked about her token again");
});

t.test("a junk flood from the signed-in user's own address while Crowd is slow: her expired cache entry is refreshed, not refused", async (t) => {
  const time = clock();
  const stack = await startStack(t, { now: time.now, crowd: { latencyMs: 300 } });
  const { browser } = await signedIn(stack);
  time.advance(CACHE_TTL_MS + 1_000);
  const before = validations(stack);
  const flood = junkRequests(stack, 200, { cookies: 1 });
  await until(() => validations(stack) - before >= 4);
  const res = await browser.request(`http://${HOSTS.echo}/during-flood`, { headers: JSON_ACCEPT });
  t.equal(res.status, 200, `alice is served while the flood is in flight (got ${res.status})`);
  t.same(new Set(await flood), new Set([401]), 'the junk is answered as without a session');
});

t.test('a junk flood from 200 addresses while Crowd is slow cannot take the Crowd connections signed-in users need', async (t) => {
  const time = clock();
  const stack = await startStack(t, { now: time.now, crowd: { latencyMs: 300 }, config: { trustedProxies: ['127.0.0.1'] } });
  const { browser } = await signedIn(stack);
  time.advance(CACHE_TTL_MS + 1_000);
  const before = validations(stack);
  const flood = junkRequests(stack, 200, { cookies: 1, from: (index) => `203.0.113.${index + 1}` });
  await until(() => validations(stack) - before >= 8);
  const res = await browser.request(`http://${HOSTS.echo}/during-flood`, { headers: JSON_ACCEPT });
  t.equal(res.status, 200, `alice is served while the flood is in flight (got ${res.status})`);
  const statuses = await flood;
  t.same(new Set(statuses), new Set([401]), 'the junk is answered as without a session, never with 503');
});

t.test('calls beyond the Crowd connections wait their turn, and crowd.timeoutMs starts when a call is sent', async (t) => {
  // Latency below the timeout, queue wait plus latency above it: only a timeout that starts at sending lets all pass.
  // Wide margins (700 ms each way), so a loaded machine does not decide the outcome.
  const fake = await startFakeCrowd({ latencyMs: 1000, applications: { app: { password: 'pw' } } });
  const client = createCrowdClient(crowdConfig(fake.baseUrl, { name: 'app', password: 'pw' }, { timeoutMs: 1700 }));
  t.teardown(async () => {
    await client.close();
    await fake.close();
  });
  // 32 calls over 16 connections: the second 16 are sent after the first answers, 1 s later; each then takes 1 s.
  const answers = await Promise.allSettled(Array.from({ length: 32 }, () => client.validateSession(junkToken(), [])));
  t.same(
    answers.map((answer) => answer.status),
    Array.from({ length: 32 }, () => 'fulfilled'),
    'every call got its answer, none timed out while waiting for a connection',
  );
  t.equal(fake.countCalls('POST', '/session/'), 32);
});
