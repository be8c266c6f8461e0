import t from 'tap';
import { redisServerMissing, startRedisServer } from '../../support/redis-server.js';
import { holdingBinding, post, response, startLogin } from '../../support/saml-login.js';
import { HOSTS, startStack } from '../../support/stack.js';

/**
 * The ACS accepts an assertion up to saml.clockSkewSeconds after its NotOnOrAfter, so the replay cache must
 * remember it at least that long: otherwise a replay in that window would pass.
 */
for (const store of ['memory', 'redis'] as const) {
  t.test(`${store}: an assertion accepted within the clock skew after its NotOnOrAfter is still accepted only once`, { skip: store === 'redis' && (redisServerMissing ?? false) }, async (t) => {
    const storeConfig = store === 'redis' ? { store: { redis: { url: (await startRedisServer(t)).url } } } : {};
    const stack = await startStack(t, { config: { ...storeConfig, saml: { clockSkewSeconds: 60 } } });
    const login = await startLogin(stack.browser(), `http://${HOSTS.jira}/`);
    const expired = new Date(Date.now() - 10_000);
    const fields = { SAMLResponse: response(stack, login, { notOnOrAfter: expired }), RelayState: login.relayState };
    t.equal((await post(holdingBinding(stack.browser(), login), login.acsUrl, fields)).status, 303, 'accepted: 10 s late is within the 60 s skew');
    // From a browser that also holds the login-binding cookie: only the replay cache stops it.
    const replay = await post(holdingBinding(stack.browser(), login), login.acsUrl, fields);
    t.equal(replay.status, 403, 'the replay is refused');
    t.ok(stack.logs.some((line) => line.reason === 'saml_replay'));
  });
}
