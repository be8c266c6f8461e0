import t, { type Test } from 'tap';
import { createCrowdClient } from '../../../src/crowd/crowd-client.js';
import { createGroupCache, type GroupCache } from '../../../src/crowd/group-cache.js';
import { startFakeCrowd, type FakeCrowd } from '../../../examples/demo/fake-crowd.js';
import { crowdConfig } from '../../support/crowd-config.js';

const APP = 'sso-proxy';
const APP_PASSWORD = 'proxy-secret-41aa';
const TTL_MS = 60_000;

interface Setup {
  readonly fake: FakeCrowd;
  readonly cache: GroupCache;
  readonly clock: { ms: number };
  lookups(): number;
}

async function setup(t: Test, ttlMs = TTL_MS): Promise<Setup> {
  const clock = { ms: 1_700_000_000_000 };
  const fake = await startFakeCrowd({
    applications: { [APP]: { password: APP_PASSWORD } },
    users: [{ name: 'alice', groups: ['jira-users', 'confluence-users'] }],
    latencyMs: 10,
  });
  const client = createCrowdClient(crowdConfig(fake.baseUrl, { name: APP, password: APP_PASSWORD }, { cacheTtlMs: TTL_MS }));
  t.teardown(async () => {
    await client.close();
    await fake.close();
  });
  const cache = createGroupCache({ crowd: client, ttlMs, maxEntries: 100, now: () => clock.ms });
  return { fake, cache, clock, lookups: () => fake.countCalls('GET', '/user/group/nested') };
}

t.test('concurrent lookups of one user share one Crowd call; the answer is kept for the TTL, per user ignoring case', async (t) => {
  const { cache, clock, lookups } = await setup(t);
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => cache.groups(i % 2 === 0 ? 'alice' : 'ALICE')));
  for (const groups of answers) t.same([...groups].sort(), ['confluence-users', 'jira-users']);
  t.equal(lookups(), 1);
  clock.ms += TTL_MS - 1;
  await cache.groups('Alice');
  t.equal(lookups(), 1, 'still fresh');
  clock.ms += 1;
  await cache.groups('alice');
  t.equal(lookups(), 2, 'expired: asked again');
});

t.test('forget: the next lookup asks Crowd (a login changed or checks the memberships)', async (t) => {
  const { cache, lookups } = await setup(t);
  await cache.groups('alice');
  cache.forget('ALICE');
  await cache.groups('alice');
  t.equal(lookups(), 2);
});

t.test('a TTL of 0 asks Crowd every time', async (t) => {
  const { cache, lookups } = await setup(t, 0);
  await cache.groups('alice');
  await cache.groups('alice');
  t.equal(lookups(), 2);
});

t.test('a failed lookup is not cached', async (t) => {
  const { fake, cache, lookups } = await setup(t);
  fake.applications.get(APP)!.password = 'changed';
  await t.rejects(cache.groups('alice'), { code: 'ERR_CROWD_REJECTED' });
  fake.applications.get(APP)!.password = APP_PASSWORD;
  t.same([...(await cache.groups('alice'))].sort(), ['confluence-users', 'jira-users']);
  t.equal(lookups(), 2);
});
