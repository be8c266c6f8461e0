import t from 'tap';
import { CrowdUnavailableError } from '../../../src/errors.js';
import { createAuthenticator } from '../../../src/flows/authenticate.js';
import type { FactorSet } from '../../../src/flows/ports.js';
import { crowdSession, FakeTokens } from './fakes.js';

const IP = '192.0.2.10';
const KEY = `key:${IP}`;

function setup() {
  const tokens = new FakeTokens();
  const factorCalls: string[] = [];
  const authenticator = createAuthenticator({
    tokenValidator: tokens,
    validationFactors: (clientIp): FactorSet => {
      factorCalls.push(clientIp);
      return { factors: [{ name: 'remote_address', value: clientIp }], cacheKey: `key:${clientIp}` };
    },
    factorsCacheKey: (clientIp) => `key:${clientIp}`,
  });
  return { tokens, factorCalls, authenticator };
}

t.test('no candidate: not authenticated, nothing asked', async (t) => {
  const { tokens, authenticator } = setup();
  t.equal(await authenticator.authenticate([], IP), undefined);
  t.same(tokens.validated, []);
});

t.test('a token Crowd says is valid authenticates, validated with the client factors and budget', async (t) => {
  const { tokens, authenticator } = setup();
  const session = crowdSession('good', 'alice');
  tokens.crowd.set('good', session);
  t.same(await authenticator.authenticate(['good'], IP), { token: 'good', session });
  t.same(tokens.validated, [{ token: 'good', factors: [{ name: 'remote_address', value: IP }], cacheKey: KEY, clientIp: IP }]);
});

t.test('the first valid candidate wins, in the order the browser sent them', async (t) => {
  const { tokens, authenticator } = setup();
  tokens.crowd.set('first', crowdSession('first', 'alice'));
  tokens.crowd.set('second', crowdSession('second', 'bob'));
  const result = await authenticator.authenticate(['first', 'second'], IP);
  t.equal(result?.token, 'first');
  t.equal(result?.session.username, 'alice');
  t.same(tokens.validated.map((call) => call.token), ['first'], 'the second is not asked about');
});

t.test('a stale token before the valid one: the valid one wins', async (t) => {
  const { tokens, authenticator } = setup();
  tokens.crowd.set('fresh', crowdSession('fresh', 'alice'));
  t.equal((await authenticator.authenticate(['stale', 'fresh'], IP))?.token, 'fresh');
  t.same(tokens.validated.map((call) => call.token), ['stale', 'fresh']);
});

t.test('a cached valid answer costs no Crowd call', async (t) => {
  const { tokens, authenticator } = setup();
  const session = crowdSession('known', 'alice');
  tokens.remember('known', KEY, session);
  t.same(await authenticator.authenticate(['known'], IP), { token: 'known', session });
  t.same(tokens.validated, []);
});

t.test('a cached answer for another client (another cache key) does not count', async (t) => {
  const { tokens, authenticator } = setup();
  tokens.remember('known', 'key:198.51.100.1', crowdSession('known', 'alice'));
  t.equal(await authenticator.authenticate(['known'], IP), undefined);
  t.same(tokens.validated.map((call) => call.token), ['known'], 'asked again for this client');
});

t.test('cached invalid candidates are skipped without a Crowd call and do not use up the uncached allowance', async (t) => {
  const { tokens, authenticator } = setup();
  tokens.remember('bad', KEY, null);
  tokens.crowd.set('good', crowdSession('good', 'alice'));
  t.equal((await authenticator.authenticate(['bad', 'good'], IP))?.token, 'good');
  t.same(tokens.validated.map((call) => call.token), ['good']);

  const again = setup();
  again.tokens.remember('bad', KEY, null);
  again.tokens.crowd.set('third', crowdSession('third', 'alice'));
  t.equal((await again.authenticator.authenticate(['bad', 'unknown', 'third'], IP))?.token, 'third', 'one cached invalid + two uncached');
  t.same(again.tokens.validated.map((call) => call.token), ['unknown', 'third']);
});

t.test('at most two uncached candidates are put to Crowd per request', async (t) => {
  const { tokens, authenticator } = setup();
  tokens.crowd.set('c', crowdSession('c', 'alice'));
  t.equal(await authenticator.authenticate(['a', 'b', 'c'], IP), undefined, 'the third would be valid, but is not asked about');
  t.same(tokens.validated.map((call) => call.token), ['a', 'b']);
});

t.test('a cached valid third candidate still wins after two uncached invalid ones', async (t) => {
  const { tokens, authenticator } = setup();
  const session = crowdSession('c', 'alice');
  tokens.remember('c', KEY, session);
  t.same(await authenticator.authenticate(['a', 'b', 'c'], IP), { token: 'c', session });
  t.same(tokens.validated.map((call) => call.token), ['a', 'b']);
});

t.test('only the first three candidates are looked at', async (t) => {
  const { tokens, authenticator } = setup();
  for (const token of ['x', 'y', 'z']) tokens.remember(token, KEY, null);
  tokens.remember('valid', KEY, crowdSession('valid', 'alice'));
  tokens.crowd.set('valid', crowdSession('valid', 'alice'));
  t.equal(await authenticator.authenticate(['x', 'y', 'z', 'valid'], IP), undefined);
  t.same(tokens.validated, []);
});

t.test('Crowd errors propagate (the caller answers 503)', async (t) => {
  const { tokens, authenticator } = setup();
  tokens.failure = new CrowdUnavailableError('Crowd does not answer');
  await t.rejects(authenticator.authenticate(['any'], IP), CrowdUnavailableError);
});

t.test('fromCache: the same decision from cached answers only', async (t) => {
  const { tokens, factorCalls, authenticator } = setup();
  const alice = crowdSession('valid', 'alice');
  tokens.remember('valid', KEY, alice);
  tokens.remember('bad', KEY, null);
  tokens.remember('bad2', KEY, null);
  tokens.remember('bad3', KEY, null);

  t.equal(authenticator.fromCache([], IP), null, 'no candidate: known not authenticated');
  t.same(authenticator.fromCache(['valid'], IP), { token: 'valid', session: alice });
  t.same(authenticator.fromCache(['bad', 'valid'], IP), { token: 'valid', session: alice }, 'cached invalid skipped');
  t.same(authenticator.fromCache(['valid', 'unknown'], IP), { token: 'valid', session: alice }, 'a later uncached one does not matter');
  t.equal(authenticator.fromCache(['bad'], IP), null, 'every candidate known invalid');
  t.equal(authenticator.fromCache(['unknown', 'valid'], IP), undefined, 'an uncached candidate before the valid one must be asked about');
  t.equal(authenticator.fromCache(['bad', 'unknown'], IP), undefined);
  t.equal(authenticator.fromCache(['bad', 'bad2', 'bad3', 'valid'], IP), null, 'the fourth candidate is not looked at');
  t.equal(authenticator.fromCache(['valid'], '198.51.100.1'), undefined, 'another client: another cache key');
  t.same(tokens.validated, [], 'never asks Crowd');
  t.same(factorCalls, [], 'builds no factors, only the cache key');
});
