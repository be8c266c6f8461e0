/**
 * The login attempt is what the audit event reports: these tests run the ACS flow with the real identity step
 * and access enforcer over in-memory ports, and look at what the attempt says after a success and after refusals.
 */
import t from 'tap';
import { compileAccessRestriction, compileIdentityConfig, type RawIdentity } from '../../../src/config/identity-config.js';
import { AccessDeniedError, IdentityNotFoundError, SamlReplayError } from '../../../src/errors.js';
import { createLoginCompleter, type LoginApp } from '../../../src/flows/complete-login.js';
import { createAccessEnforcer } from '../../../src/flows/enforce-access-restriction.js';
import { createIdentityEstablisher } from '../../../src/flows/establish-identity.js';
import { LoginAttempt } from '../../../src/flows/login-attempt.js';
import type { FactorSet } from '../../../src/flows/ports.js';
import { createReturnUrlPolicy } from '../../../src/policy/return-url.js';
import { crowdUser, FakeCrowd, FakeCrowdGroups, FakeReplayStore, FakeSaml, FakeSealer, FakeSessionStore, looksSealed, samlProfile } from './fakes.js';

const HOST = 'jira.example.com';

function setup(raw: RawIdentity) {
  const crowd = new FakeCrowd();
  const saml = new FakeSaml();
  const sessions = new FakeSessionStore();
  const crowdGroups = new FakeCrowdGroups();
  const completer = createLoginCompleter({
    saml,
    sealer: new FakeSealer(),
    replay: new FakeReplayStore(),
    sessions,
    crowd,
    identity: createIdentityEstablisher({ identity: compileIdentityConfig(raw), crowd, crowdGroups }),
    access: createAccessEnforcer({ sessions, crowdGroups }),
    returnUrls: createReturnUrlPolicy({ publicScheme: 'https', hosts: [HOST] }),
    acsUrl: (host) => `https://${host}/_sso/saml/acs`,
    allowIdpInitiated: true,
    validationFactors: (clientIp): FactorSet => ({ factors: [{ name: 'remote_address', value: clientIp }], cacheKey: clientIp }),
    sessionDurationSeconds: undefined,
    bindingCookie: { name: (id) => `login_${id}`, clear: (_host, id) => `login_${id}=; Max-Age=0` },
    signInUrl: (host, returnUrl) => `https://${host}/_sso/login?return=${encodeURIComponent(returnUrl)}`,
    looksSealed,
    clockSkewMs: 0,
  });
  const login = async (nameId: string, attributes: Record<string, string[]> = {}, app: LoginApp = { name: 'Jira', access: undefined, startPath: '/', requiredAuthnContext: undefined }) => {
    const attempt = new LoginAttempt();
    saml.responses.set(`response-${nameId}`, samlProfile({ nameId, attributes, assertionId: `_a-${nameId}`, issuer: 'https://idp.example.com' }));
    const outcome = await completer
      .complete({ host: HOST, samlResponse: `response-${nameId}`, relayState: undefined, presentedCookies: () => [], clientIp: '192.0.2.1', app, attempt })
      .then(
        (done) => ({ done, error: undefined }),
        (error: unknown) => ({ done: undefined, error }),
      );
    return { attempt, ...outcome };
  };
  return { crowd, login };
}

t.test('a new attempt says nothing yet', async (t) => {
  const attempt = new LoginAttempt();
  t.match(attempt, {
    idp: undefined,
    nameId: undefined,
    username: undefined,
    strategy: undefined,
    userCreated: false,
    profileUpdated: [],
    groupsAdded: [],
    groupsRemoved: [],
    groupsCreated: [],
    groupsNotFound: [],
    warnings: [],
    unsolicited: undefined,
  });
});

t.test('a successful login with provisioning and group sync: the attempt tells what it did', async (t) => {
  const { crowd, login } = setup({
    provisioning: { enabled: true },
    username: [{ from: 'attribute', attribute: 'uid' }, { from: 'nameId' }],
    groups: { attribute: 'groups', map: { staff: ['jira-users', 'missing-group'] }, defaultGroups: ['sso-users'] },
  });
  crowd.addGroup('jira-users');
  crowd.addGroup('sso-users');
  const { attempt, done, error } = await login('alice', { groups: ['staff'] });
  t.equal(error, undefined);
  t.equal(done?.username, 'alice');
  t.match(attempt, {
    idp: 'https://idp.example.com',
    nameId: 'alice',
    username: 'alice',
    strategy: undefined,
    userCreated: true,
    groupsAdded: ['jira-users', 'sso-users'],
    groupsNotFound: ['missing-group'],
    unsolicited: true,
  });
  t.equal(attempt.returnUrl, `https://${HOST}/`);
});

t.test('an existing user: the strategy that found it', async (t) => {
  const { crowd, login } = setup({ username: [{ from: 'attribute', attribute: 'uid' }, { from: 'nameId' }] });
  crowd.addUser(crowdUser('bob'));
  const { attempt } = await login('bob');
  t.equal(attempt.strategy, 1);
  t.equal(attempt.userCreated, false);
});

t.test('refused for want of a Crowd user: the attempt names the IdP, the NameID and the would-be username', async (t) => {
  const { login } = setup({ username: [{ from: 'nameId', transforms: ['lowercase'] }] });
  const { attempt, error } = await login('Carol');
  t.type(error, IdentityNotFoundError);
  t.match(attempt, { idp: 'https://idp.example.com', nameId: 'Carol', username: 'carol', userCreated: false });
});

t.test('refused by apps[].access after the user was created: the attempt still says it was created', async (t) => {
  const { crowd, login } = setup({ provisioning: { enabled: true }, groups: { attribute: 'groups' } });
  const { attempt, error, done } = await login('dave', { groups: ['sales'] }, { name: 'Jira', access: compileAccessRestriction({ idpGroups: ['engineering'] }), startPath: '/', requiredAuthnContext: undefined });
  t.type(error, AccessDeniedError);
  t.equal(done, undefined);
  t.equal(attempt.userCreated, true);
  t.equal(attempt.username, 'dave');
  t.ok(crowd.users.has('dave'));
  t.same(crowd.callsTo('createSession'), [], 'no session for a refused login');
});

t.test('a replayed assertion: refused before the identity step, nothing added to the attempt', async (t) => {
  const { crowd, login } = setup({});
  crowd.addUser(crowdUser('erin'));
  await login('erin');
  const { attempt, error } = await login('erin');
  t.type(error, SamlReplayError);
  t.equal(attempt.username, undefined);
  t.equal(attempt.returnUrl, `https://${HOST}/`, 'where it would have returned');
});
