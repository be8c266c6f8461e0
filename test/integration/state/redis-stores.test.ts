import { Redis } from 'ioredis';
import t, { type Test } from 'tap';
import type { RedisStoreConfig } from '../../../src/config/runtime-config.js';
import { StoreUnavailableError } from '../../../src/errors.js';
import { createRedisConnection, type RedisConnection } from '../../../src/state/redis-connection.js';
import { createRedisReplayStore } from '../../../src/state/redis-replay-store.js';
import { createRedisSessionStore } from '../../../src/state/redis-session-store.js';
import { redisServerMissing, startRedisServer } from '../../support/redis-server.js';
import { replayStoreConformance, sessionRecord, sessionStoreConformance } from '../../support/store-conformance.js';

interface LogLine {
  readonly level: 'info' | 'error';
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

function storeConfig(url: string, overrides: Partial<RedisStoreConfig> = {}): RedisStoreConfig {
  return { url, keyPrefix: 'test-proxy:', password: undefined, tls: false, connectTimeoutMs: 1_000, commandTimeoutMs: 2_000, ...overrides };
}

function connect(t: Test, config: RedisStoreConfig): { connection: RedisConnection; logs: LogLine[] } {
  const logs: LogLine[] = [];
  const connection = createRedisConnection(config, {
    log: {
      info: (fields, message) => logs.push({ level: 'info', fields, message }),
      error: (fields, message) => logs.push({ level: 'error', fields, message }),
    },
  });
  t.teardown(() => connection.close());
  return { connection, logs };
}

/** A plain client to look at what the proxy wrote. */
function inspector(t: Test, url: string, password?: string): Redis {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, ...(password === undefined ? {} : { password }) });
  t.teardown(() => client.disconnect());
  return client;
}

async function refusal(t: Test, promise: Promise<unknown>, what: string): Promise<unknown> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  t.type(error, StoreUnavailableError, `${what}: StoreUnavailableError`);
  return error;
}

async function eventually(condition: () => boolean): Promise<void> {
  for (let attempt = 0; !condition(); attempt++) {
    if (attempt > 200) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const skip = redisServerMissing ?? false;

t.test('Redis replay store conforms', { skip }, async (t) => {
  const redis = await startRedisServer(t);
  const { connection } = connect(t, storeConfig(redis.url));
  await replayStoreConformance(t, async (clock) => createRedisReplayStore(connection, { now: () => clock.now }));
});

t.test('Redis session store conforms', { skip }, async (t) => {
  const redis = await startRedisServer(t);
  const { connection } = connect(t, storeConfig(redis.url));
  await sessionStoreConformance(t, async (clock) => createRedisSessionStore(connection, { now: () => clock.now }));
});

t.test('keys carry the prefix and a lifetime, and never a token or a NameID', { skip }, async (t) => {
  const redis = await startRedisServer(t);
  const { connection } = connect(t, storeConfig(redis.url, { keyPrefix: 'edge-a:' }));
  const now = Date.now();
  const record = sessionRecord({ token: 'SecretCrowdToken0123456789', nameId: 'alice@example.com', createdAtMs: now, expiresAtMs: now + 3_600_000 });
  await createRedisSessionStore(connection).record(record);
  t.equal(await createRedisReplayStore(connection).markUsed('_assertion-1', now + 300_000), true);

  const client = inspector(t, redis.url);
  const keys = (await client.keys('*')).sort();
  t.equal(keys.length, 3, 'one replay key, one session key, one subject index');
  for (const key of keys) {
    t.match(key, /^edge-a:(replay|session|subject):[\w-]{43}$/, `${key}: prefixed, hashed`);
    const ttlMs = await client.pttl(key);
    t.ok(ttlMs > 0 && ttlMs <= 3_600_000, `${key} expires (${ttlMs} ms)`);
  }
  t.notMatch(keys.join(' '), /SecretCrowdToken|alice/, 'key names reveal nothing');
});

t.test('an expired session leaves the subject index at the next login of that subject', { skip }, async (t) => {
  const redis = await startRedisServer(t);
  const { connection } = connect(t, storeConfig(redis.url));
  const clock = { now: Date.now() };
  const sessions = createRedisSessionStore(connection, { now: () => clock.now });
  const first = sessionRecord({ nameId: 'bob@example.com', expiresAtMs: clock.now + 60_000 });
  await sessions.record(first);
  clock.now += 120_000;
  const second = sessionRecord({ nameId: 'bob@example.com', expiresAtMs: clock.now + 60_000 });
  await sessions.record(second);
  const client = inspector(t, redis.url);
  const [subject] = await client.keys('test-proxy:subject:*');
  t.equal(await client.zcard(subject!), 1, 'the expired member was pruned');
  t.same(await sessions.findTokens(second.issuer, 'bob@example.com', undefined), [second.token]);
});

t.test('with requirepass, store.redis.password authenticates', { skip }, async (t) => {
  const redis = await startRedisServer(t, { password: 'redis-test-password' });
  const { connection: withPassword } = connect(t, storeConfig(redis.url, { password: 'redis-test-password' }));
  t.equal(await createRedisReplayStore(withPassword).markUsed('_p1', Date.now() + 60_000), true);
  const { connection: without, logs } = connect(t, storeConfig(redis.url));
  await refusal(t, createRedisReplayStore(without).markUsed('_p2', Date.now() + 60_000), 'without the password');
  t.notMatch(JSON.stringify(logs), /redis-test-password/, 'the password is never logged');
});

t.test('Redis down: every operation fails at once with StoreUnavailableError, logged once, and recovers', { skip }, async (t) => {
  const redis = await startRedisServer(t);
  // A long command timeout: during a known outage nothing waits for it.
  const { connection, logs } = connect(t, storeConfig(redis.url, { commandTimeoutMs: 30_000 }));
  const replay = createRedisReplayStore(connection);
  const sessions = createRedisSessionStore(connection);
  const record = sessionRecord({ expiresAtMs: Date.now() + 60_000 });
  await sessions.record(record);
  await connection.ping();

  await redis.stop();
  await eventually(() => logs.some((line) => line.level === 'error'));
  for (const [what, operation] of [
    ['markUsed', () => replay.markUsed('_down', Date.now() + 60_000)],
    ['record', () => sessions.record(sessionRecord({ expiresAtMs: Date.now() + 60_000 }))],
    ['get', () => sessions.get(record.token)],
    ['findTokens', () => sessions.findTokens(record.issuer, record.nameId, undefined)],
    ['remove', () => sessions.remove(record.token)],
    ['ping', () => connection.ping()],
  ] as const) {
    const error = await refusal(t, operation(), what);
    t.match(error, { message: /has not been answering since/ }, `${what} was not even attempted`);
  }
  const outages = logs.filter((line) => line.level === 'error');
  t.equal(outages.length, 1, 'the outage is logged once');
  t.match(outages[0], { fields: { reason: 'store_unavailable', url: redis.url }, message: /logins are refused/ });

  await redis.start();
  await t.resolves(async () => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await connection.ping();
      } catch (error) {
        if (attempt > 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }, 'the connection comes back by itself');
  t.equal(await replay.markUsed('_after', Date.now() + 60_000), true, 'the store works again');
  t.ok(logs.some((line) => line.level === 'info' && /answers again/.test(line.message)), 'the recovery is logged');
});

t.test('a command issued before the connection is up waits for it (within commandTimeoutMs)', { skip }, async (t) => {
  const redis = await startRedisServer(t);
  const { connection } = connect(t, storeConfig(redis.url, { commandTimeoutMs: 2_000 }));
  // Issued at once, before the connection is up: queued, then answered.
  t.equal(await createRedisReplayStore(connection).markUsed('_early', Date.now() + 60_000), true);
});
