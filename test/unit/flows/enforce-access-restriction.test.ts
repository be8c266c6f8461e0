import t from 'tap';
import { compileAccessRestriction, type RawAccessRestriction } from '../../../src/config/identity-config.js';
import { AccessDeniedError } from '../../../src/errors.js';
import { createAccessEnforcer, type RestrictedApp } from '../../../src/flows/enforce-access-restriction.js';
import { FakeCrowdGroups, FakeSessionStore, sessionRecord } from './fakes.js';

function setup() {
  const sessions = new FakeSessionStore();
  const crowdGroups = new FakeCrowdGroups();
  return { sessions, crowdGroups, enforcer: createAccessEnforcer({ sessions, crowdGroups }) };
}

function app(raw: RawAccessRestriction | undefined, name = 'Jira'): RestrictedApp {
  return { name, access: compileAccessRestriction(raw) };
}

async function refusal(promise: Promise<unknown>): Promise<AccessDeniedError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof AccessDeniedError)) throw new Error(`expected AccessDeniedError, got ${String(error)}`);
  return error;
}

t.test('an app without apps[].access lets everyone in and asks nothing', async (t) => {
  const { sessions, crowdGroups, enforcer } = setup();
  await enforcer.atLogin(app(undefined), 'alice', []);
  await enforcer.atGate(app(undefined), 'alice', 'tok');
  t.same(crowdGroups.asked, []);
  t.same(crowdGroups.forgotten, []);
  t.same(sessions.reads, []);
});

t.test('at login: allowed by an IdP group of the assertion (ignoring case), Crowd not asked', async (t) => {
  const { crowdGroups, enforcer } = setup();
  await enforcer.atLogin(app({ idpGroups: ['Jira-Users'] }), 'alice', ['other', 'jira-users']);
  t.same(crowdGroups.asked, [], 'no Crowd groups listed: none fetched');
});

t.test('at login: allowed by a Crowd group, read fresh after the group sync', async (t) => {
  const { crowdGroups, enforcer } = setup();
  crowdGroups.byUser.set('alice', ['jira-software-users']);
  await enforcer.atLogin(app({ crowdGroups: ['JIRA-SOFTWARE-USERS'] }), 'alice', []);
  t.same(crowdGroups.forgotten, ['alice'], 'the cached groups are dropped first');
  t.same(crowdGroups.asked, ['alice']);
});

t.test('at login: either kind of group suffices', async (t) => {
  const { crowdGroups, enforcer } = setup();
  const restricted = app({ idpGroups: ['idp-staff'], crowdGroups: ['crowd-staff'] });
  crowdGroups.byUser.set('bob', ['crowd-staff']);
  await enforcer.atLogin(restricted, 'bob', []);
  await enforcer.atLogin(restricted, 'carol', ['IDP-STAFF']);
  t.pass('both allowed');
});

t.test('at login: refused without a listed group; the log names what was wanted and what the user has', async (t) => {
  const { crowdGroups, enforcer } = setup();
  crowdGroups.byUser.set('dave', ['confluence-users']);
  const error = await refusal(enforcer.atLogin(app({ idpGroups: ['jira-users'], crowdGroups: ['jira-admins'], contact: 'it@example.com' }), 'dave', ['sales']));
  t.equal(error.detail, 'app_access_restricted');
  t.equal(error.publicMessage, 'You signed in as dave, but your account may not use Jira. To get access, contact it@example.com.');
  t.match(error.message, /requires one of the IdP groups "jira-users" or one of the Crowd groups "jira-admins"/);
  t.match(error.message, /the user has IdP groups "sales" and Crowd groups "confluence-users"/);

  const noContact = await refusal(setup().enforcer.atLogin(app({ idpGroups: ['jira-users'] }, 'Bitbucket'), 'erin', []));
  t.equal(noContact.publicMessage, 'You signed in as erin, but your account may not use Bitbucket.');
  t.match(noContact.message, /IdP groups none and Crowd groups \(not checked\)/);
});

t.test('a long group list is shortened in the log', async (t) => {
  const { enforcer } = setup();
  const many = Array.from({ length: 25 }, (_, i) => `g${i}`);
  const error = await refusal(enforcer.atLogin(app({ idpGroups: ['wanted'] }), 'frank', many));
  t.match(error.message, /"g19" and 5 more/);
  t.notMatch(error.message, /"g20"/);
});

t.test('at the gate: the IdP groups recorded at the login of this token', async (t) => {
  const { sessions, crowdGroups, enforcer } = setup();
  sessions.records.set('tok', sessionRecord('tok', { username: 'Grace', idpGroups: ['jira-users'] }));
  await enforcer.atGate(app({ idpGroups: ['jira-users'] }), 'grace', 'tok');
  t.same(sessions.reads, ['tok']);
  t.same(crowdGroups.forgotten, [], 'the gate uses the cached Crowd groups');
});

t.test("at the gate: a record of another user's login, or none, gives no IdP groups", async (t) => {
  const { sessions, enforcer } = setup();
  sessions.records.set('tok', sessionRecord('tok', { username: 'mallory', idpGroups: ['jira-users'] }));
  const restricted = app({ idpGroups: ['jira-users'] });
  await refusal(enforcer.atGate(restricted, 'heidi', 'tok'));
  await refusal(enforcer.atGate(restricted, 'heidi', 'app-made-token'));
  sessions.records.set('old', sessionRecord('old', { username: 'heidi' }));
  await refusal(enforcer.atGate(restricted, 'heidi', 'old'));
  t.pass('all refused');
});

t.test('at the gate: Crowd groups from the cache; the record is not read when no IdP group is listed', async (t) => {
  const { sessions, crowdGroups, enforcer } = setup();
  crowdGroups.byUser.set('ivan', ['jira-users']);
  await enforcer.atGate(app({ crowdGroups: ['jira-users'] }), 'ivan', 'tok');
  t.same(sessions.reads, []);
  t.same(crowdGroups.asked, ['ivan']);
  t.same(crowdGroups.forgotten, []);
  await refusal(enforcer.atGate(app({ crowdGroups: ['jira-admins'] }), 'ivan', 'tok'));
});
