import t from 'tap';
import { loadFrom, minimalConfig, withChanges } from './config-fixture.js';

t.test('without store, the state stays in memory', async (t) => {
  const { config } = await loadFrom(t.testdir(), minimalConfig());
  t.same(config?.store, { redis: undefined });
});

t.test('store.redis gets its defaults; the password comes from the environment', async (t) => {
  const { config, problems } = await loadFrom(
    t.testdir(),
    withChanges(minimalConfig(), { 'store.redis': { url: 'redis://proxy@redis.internal:6380/2', password: '${REDIS_PASSWORD}' } }),
    { REDIS_PASSWORD: 'from-env' },
  );
  t.same(problems, []);
  t.same(config?.store.redis, {
    url: 'redis://proxy@redis.internal:6380/2',
    keyPrefix: 'crowd-sso-proxy:',
    password: 'from-env',
    tls: false,
    connectTimeoutMs: 2000,
    commandTimeoutMs: 1000,
  });
});

t.test('a rediss:// URL means TLS; every key can be set', async (t) => {
  const redis = { url: 'rediss://redis.example.com', keyPrefix: 'sso-{edge}:', tls: true, connectTimeoutMs: 500, commandTimeoutMs: 50 };
  const { config } = await loadFrom(t.testdir(), withChanges(minimalConfig(), { 'store.redis': redis }));
  t.same(config?.store.redis, { ...redis, password: undefined });
  const { config: implied } = await loadFrom(t.testdir(), withChanges(minimalConfig(), { 'store.redis': { url: 'rediss://redis.example.com:6380' } }));
  t.equal(implied?.store.redis?.tls, true);
});

/** Each case: store.redis → exactly the problems an administrator reads. */
const cases: { name: string; redis: unknown; problems: string[] }[] = [
  { name: 'no URL', redis: {}, problems: ['store.redis: missing required key "url"'] },
  { name: 'an unknown key', redis: { url: 'redis://r:6379', db: 2 }, problems: ['store.redis: unknown key "db"'] },
  { name: 'another scheme', redis: { url: 'http://redis.internal:6379' }, problems: ['store.redis.url: must start with redis:// or rediss:// (TLS)'] },
  { name: 'not a URL', redis: { url: 'redis.internal:6379' }, problems: ['store.redis.url: must start with redis:// or rediss:// (TLS)'] },
  { name: 'garbage', redis: { url: 'redis://[' }, problems: ['store.redis.url: not a URL; write redis://host:6379/0 (or rediss:// for TLS)'] },
  {
    name: 'a password in the URL',
    redis: { url: 'redis://:hunter2@redis.internal:6379' },
    problems: ['store.redis.url: must not contain a password (it would appear in logs); put it into store.redis.password, e.g. "${REDIS_PASSWORD}"'],
  },
  { name: 'a path that is not a database number', redis: { url: 'redis://redis.internal/sessions' }, problems: ['store.redis.url: the path must be a database number, e.g. redis://host:6379/0'] },
  { name: 'a query', redis: { url: 'redis://redis.internal/0?family=6' }, problems: ['store.redis.url: must not have a query or fragment; use the store.redis keys for options'] },
  { name: 'TLS switched off for a rediss:// URL', redis: { url: 'rediss://redis.internal', tls: false }, problems: ['store.redis.tls: is false but store.redis.url starts with rediss:// (TLS); remove one of them'] },
  { name: 'a key prefix with a space', redis: { url: 'redis://r', keyPrefix: 'crowd sso:' }, problems: ['store.redis.keyPrefix: may contain only letters, digits and ":._{}/-", e.g. "crowd-sso-proxy:"'] },
  { name: 'a command timeout too small', redis: { url: 'redis://r', commandTimeoutMs: 1 }, problems: ['store.redis.commandTimeoutMs: must be at least 10'] },
  { name: 'a password from an unset variable', redis: { url: 'redis://r', password: '${REDIS_PASSWORD}' }, problems: ['store.redis.password: environment variable REDIS_PASSWORD is not set'] },
];

for (const { name, redis, problems } of cases) {
  t.test(`store.redis: ${name}`, async (t) => {
    const outcome = await loadFrom(t.testdir(), withChanges(minimalConfig(), { 'store.redis': redis }));
    t.same(outcome.problems, problems);
  });
}
