import t, { type Test } from 'tap';
import { createCrowdClient } from '../../../src/crowd/crowd-client.js';
import { createTokenValidator, type TokenValidator } from '../../../src/crowd/token-validator.js';
import { CrowdRejectedError } from '../../../src/errors.js';
import type { TokenValidatorPort } from '../../../src/flows/ports.js';
import { startFakeCrowd, type FakeCrowd } from '../../../examples/demo/fake-crowd.js';
import { crowdConfig } from '../../support/crowd-config.js';

const APP = 'sso-proxy';
const APP_PASSWORD = 'proxy-secret-41aa';
const FACTORS = [{ name: 'remote_address', value: '198.51.100.7' }];
const KEY = '198.51.100.7';
const TTL_MS = 60_000;
const NEGATIVE_TTL_MS = 5_000;

interface Setup {
  readonly fake: FakeCrowd;
  readonly validator: TokenValidator;
  readonly clock: { ms: number };
  /** A fresh Crowd session for alice. */
  newToken(factors?: typeof FACTORS): Promise<string>;
  /** How many times Crowd was asked to validate this token. */
  validations(token: string): number;
}

async function setup(t: Test, options: { maxEntries?: number; sessionTimeoutMs?: number } = {}): Promise<Setup> {
  const clock = { ms: 1_700_000_000_000 };
  const fake = await startFakeCrowd({
    now: () => clock.ms,
    sessionTimeoutMs: options.sessionTimeoutMs ?? 30 * 60_000,
    applications: { [APP]: { password: APP_PASSWORD, allowGenerateUserTokens: true } },
    users: [{ name: 'alice' }],
  });
  const client = createCrowdClient(crowdConfig(fake.baseUrl, { name: APP, password: APP_PASSWORD }, { cacheTtlMs: TTL_MS, negativeCacheTtlMs: NEGATIVE_TTL_MS }), {
    now: () => clock.ms,
  });
  t.teardown(async () => {
    await client.close();
    await fake.close();
  });
  // The flows use the validator through TokenValidatorPort: the compiler checks that it fits.
  const validator = createTokenValidator({
    crowd: client,
    ttlMs: TTL_MS,
    negativeTtlMs: NEGATIVE_TTL_MS,
    maxEntries: options.maxEntries ?? 1_000,
    now: () => clock.ms,
  }) satisfies TokenValidatorPort;
  return {
    fake,
    validator,
    clock,
    newToken: async (factors = FACTORS) => (await client.createSession('alice', factors)).token,
    validations: (token) => fake.countCalls('POST', `/session/${encodeURIComponent(token)}`),
  };
}

t.test('50 concurrent requests with one cookie make one Crowd call', async (t) => {
  const { validator, newToken, validations } = await setup(t);
  const token = await newToken();
  const answers = await Promise.all(Array.from({ length: 50 }, () => validator.validate(token, FACTORS, KEY, KEY)));
  t.equal(validations(token), 1);
  t.ok(answers.every((answer) => answer?.username === 'alice' && answer.token === token));
});

t.test('a valid session is trusted for ttlMs, then asked again', async (t) => {
  const { validator, clock, newToken, validations } = await setup(t);
  const token = await newToken();
  await validator.validate(token, FACTORS, KEY, KEY);
  clock.ms += TTL_MS - 1;
  t.ok(await validator.validate(token, FACTORS, KEY, KEY));
  t.equal(validations(token), 1, 'still cached just before ttlMs');
  clock.ms += 1;
  t.ok(await validator.validate(token, FACTORS, KEY, KEY));
  t.equal(validations(token), 2, 'asked again at ttlMs');
});

t.test('a cached session is never trusted beyond its Crowd expiry', async (t) => {
  const { validator, clock, newToken, validations } = await setup(t, { sessionTimeoutMs: 10_000 });
  const token = await newToken();
  clock.ms += 5_000;
  t.ok(await validator.validate(token, FACTORS, KEY, KEY), 'valid; Crowd moves the expiry to +10 s');
  clock.ms += 10_000;
  t.equal(await validator.validate(token, FACTORS, KEY, KEY), null, 'expired in Crowd, although ttlMs has not passed');
  t.equal(validations(token), 2);
});

t.test('an invalid token is remembered for negativeTtlMs', async (t) => {
  const { validator, clock, validations } = await setup(t);
  const token = 'NoSuchToken0000000000000';
  t.equal(await validator.validate(token, FACTORS, KEY, KEY), null);
  clock.ms += NEGATIVE_TTL_MS - 1;
  t.equal(await validator.validate(token, FACTORS, KEY, KEY), null);
  t.equal(validations(token), 1);
  clock.ms += 1;
  t.equal(await validator.validate(token, FACTORS, KEY, KEY), null);
  t.equal(validations(token), 2);
});

t.test('different factor sets are validated separately', async (t) => {
  const { validator, newToken, validations } = await setup(t);
  const token = await newToken();
  await validator.validate(token, FACTORS, KEY, KEY);
  await validator.validate(token, [{ name: 'remote_address', value: '203.0.113.1' }], '203.0.113.1', KEY);
  t.equal(validations(token), 2);
});

t.test('one token keeps the answers of its four most recent factor sets', async (t) => {
  const { validator, newToken, validations } = await setup(t);
  const token = await newToken();
  const keys = ['k1', 'k2', 'k3', 'k4', 'k5'];
  for (const key of keys) await validator.validate(token, FACTORS, key, KEY);
  t.equal(validations(token), 5);
  for (const key of keys.slice(1)) t.ok(validator.cached(token, key), `${key} answered from the cache`);
  t.equal(validator.cached(token, 'k1'), undefined, 'the oldest was dropped');
  await validator.validate(token, FACTORS, 'k1', KEY);
  t.equal(validations(token), 6, 'and is asked again');
  t.equal(validator.entries(), 1, 'one entry: the cache is bounded in tokens');
});

t.test('cached() answers from the cache only: never a Crowd call, undefined once expired', async (t) => {
  const { validator, newToken, validations, clock } = await setup(t);
  const token = await newToken();
  t.equal(validator.cached(token, KEY), undefined, 'nothing cached yet');
  t.equal(validations(token), 0);
  await validator.validate(token, FACTORS, KEY, KEY);
  t.match(validator.cached(token, KEY), { username: 'alice' });
  t.equal(validator.cached('UnknownToken', KEY), undefined);
  await validator.validate('UnknownToken', FACTORS, KEY, KEY);
  t.equal(validator.cached('UnknownToken', KEY), null, 'known invalid');
  clock.ms += TTL_MS;
  t.equal(validator.cached(token, KEY), undefined, 'expired');
  t.equal(validations(token), 1);
});

t.test('errors are shared by concurrent callers but never cached', async (t) => {
  const { fake, validator, newToken, validations } = await setup(t);
  const token = await newToken();
  fake.addApplication(APP, { password: 'changed-in-crowd', allowGenerateUserTokens: true });
  const results = await Promise.allSettled(Array.from({ length: 5 }, () => validator.validate(token, FACTORS, KEY, KEY)));
  t.ok(results.every((r) => r.status === 'rejected' && r.reason instanceof CrowdRejectedError));
  t.equal(validations(token), 1, 'one call for all five');
  fake.addApplication(APP, { password: APP_PASSWORD, allowGenerateUserTokens: true });
  t.ok(await validator.validate(token, FACTORS, KEY, KEY), 'the next request asks Crowd again');
  t.equal(validations(token), 2);
});

t.test('forget drops every answer for the token', async (t) => {
  const { validator, newToken, validations } = await setup(t);
  const token = await newToken();
  const other = await newToken([{ name: 'remote_address', value: '203.0.113.1' }]);
  t.not(other, token, 'Crowd reuses a session only for equal factors');
  await validator.validate(token, FACTORS, 'a', KEY);
  await validator.validate(token, FACTORS, 'b', KEY);
  await validator.validate(other, FACTORS, 'a', KEY);
  validator.forget(token);
  await validator.validate(token, FACTORS, 'a', KEY);
  await validator.validate(token, FACTORS, 'b', KEY);
  await validator.validate(other, FACTORS, 'a', KEY);
  t.equal(validations(token), 4, 'both keys of the forgotten token asked again');
  t.equal(validations(other), 1, 'other tokens untouched');
});

t.test('an answer in flight during forget is not cached', async (t) => {
  const { validator, newToken, validations } = await setup(t);
  const token = await newToken();
  const pending = validator.validate(token, FACTORS, KEY, KEY);
  validator.forget(token);
  t.ok(await pending, 'the caller still gets its answer');
  await validator.validate(token, FACTORS, KEY, KEY);
  t.equal(validations(token), 2);
});

t.test('the cache holds at most maxEntries answers, dropping the least recently used', async (t) => {
  const { validator, validations } = await setup(t, { maxEntries: 3 });
  const tokens = ['TokenA', 'TokenB', 'TokenC', 'TokenD'];
  for (const token of tokens.slice(0, 3)) await validator.validate(token, FACTORS, KEY, KEY);
  await validator.validate('TokenA', FACTORS, KEY, KEY);
  await validator.validate('TokenD', FACTORS, KEY, KEY);
  t.equal(validations('TokenA'), 1, 'recently used, kept');
  await validator.validate('TokenB', FACTORS, KEY, KEY);
  t.equal(validations('TokenB'), 2, 'least recently used, dropped');
  await validator.validate('TokenD', FACTORS, KEY, KEY);
  t.equal(validations('TokenD'), 1);
});
