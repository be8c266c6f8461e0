import t from 'tap';
import { compileIdentityConfig, type RawIdentity } from '../../../src/config/identity-config.js';
import { AccessDeniedError, CrowdRejectedError, CrowdUnavailableError, IdentityAmbiguousError, IdentityNotFoundError } from '../../../src/errors.js';
import { createIdentityEstablisher } from '../../../src/flows/establish-identity.js';
import { LoginAttempt } from '../../../src/flows/login-attempt.js';
import type { SamlProfile } from '../../../src/flows/ports.js';
import { crowdUser, FakeCrowd, FakeCrowdGroups, samlProfile } from './fakes.js';

const OVERAGE = 'http://schemas.microsoft.com/claims/groups.link';

function setup(raw: RawIdentity = {}, crowd = new FakeCrowd()) {
  const crowdGroups = new FakeCrowdGroups();
  const establisher = createIdentityEstablisher({ identity: compileIdentityConfig(raw), crowd, crowdGroups });
  const attempt = new LoginAttempt();
  const establish = (profile: SamlProfile) => establisher.establish(profile, attempt);
  return { crowd, crowdGroups, attempt, establish };
}

t.test('default strategy: the NameID is the Crowd username', async (t) => {
  const { crowd, attempt, establish } = setup();
  crowd.addUser(crowdUser('alice', { email: 'alice@example.com' }));
  const { user, idpGroups } = await establish(samlProfile({ nameId: 'alice' }));
  t.equal(user.name, 'alice');
  t.equal(idpGroups, undefined, 'no identity.groups: no IdP groups');
  t.equal(attempt.strategy, 0);
  t.equal(attempt.username, 'alice');
  t.equal(attempt.userCreated, false);
  t.same(crowd.callsTo('getUser'), [['alice']]);
  t.same(crowd.callsTo('getDirectGroups'), [], 'group memberships untouched');
});

t.test('Crowd names compare ignoring case: the user as Crowd spells it', async (t) => {
  const { crowd, attempt, establish } = setup();
  crowd.addUser(crowdUser('Alice'));
  t.equal((await establish(samlProfile({ nameId: 'ALICE' }))).user.name, 'Alice');
  t.equal(attempt.username, 'Alice');
});

t.test('transforms turn the IdP value into the username', async (t) => {
  const { crowd, establish } = setup({ username: [{ from: 'nameId', transforms: ['strip-windows-domain', 'lowercase'] }] });
  crowd.addUser(crowdUser('alice'));
  t.equal((await establish(samlProfile({ nameId: 'CORP\\Alice' }))).user.name, 'alice');
  t.same(crowd.callsTo('getUser'), [['alice']]);

  const email = setup({ username: [{ from: 'attribute', attribute: 'upn', transforms: ['strip-email-domain', { replace: { pattern: '^adm_', with: '' } }] }] });
  email.crowd.addUser(crowdUser('bob'));
  t.equal((await email.establish(samlProfile({ nameId: 'x', attributes: { upn: ['adm_bob@corp.example.com'] } }))).user.name, 'bob');
});

t.test('strategies are tried in order; the first that finds a user wins', async (t) => {
  const raw: RawIdentity = {
    username: [
      { from: 'attribute', attribute: 'uid' },
      { from: 'attribute', attribute: 'mail', lookup: 'email' },
      { from: 'nameId' },
    ],
  };

  const missing = setup(raw);
  missing.crowd.addUser(crowdUser('carol', { email: 'carol@example.com' }));
  t.equal((await missing.establish(samlProfile({ nameId: 'ignored', attributes: { mail: ['Carol@Example.com'] } }))).user.name, 'carol', 'no uid: the email strategy');
  t.equal(missing.attempt.strategy, 1);
  t.same(missing.crowd.callsTo('getUser'), [], 'a strategy without a value asks nothing');

  const notFound = setup(raw);
  notFound.crowd.addUser(crowdUser('dave'));
  t.equal((await notFound.establish(samlProfile({ nameId: 'dave', attributes: { uid: ['d.unknown'], mail: ['nobody@example.com'] } }))).user.name, 'dave');
  t.equal(notFound.attempt.strategy, 2, 'uid and email found nobody: the NameID');
  t.same(notFound.crowd.callsTo('getUser'), [['d.unknown'], ['dave']]);
  t.same(notFound.crowd.callsTo('searchUsersByEmail'), [['nobody@example.com']]);

  const first = setup(raw);
  first.crowd.addUser(crowdUser('erin', { email: 'erin@example.com' }));
  first.crowd.addUser(crowdUser('other'));
  t.equal((await first.establish(samlProfile({ nameId: 'other', attributes: { uid: ['erin'], mail: ['erin@example.com'] } }))).user.name, 'erin');
  t.equal(first.attempt.strategy, 0);
  t.same(first.crowd.callsTo('searchUsersByEmail'), [], 'later strategies are not asked');
});

t.test('email lookup: one match is the user, several are refused, none goes on', async (t) => {
  const raw: RawIdentity = { username: [{ from: 'nameId', lookup: 'email' }] };

  const one = setup(raw);
  one.crowd.addUser(crowdUser('frank', { email: 'frank@example.com' }));
  t.equal((await one.establish(samlProfile({ nameId: 'FRANK@example.com' }))).user.name, 'frank');

  const several = setup(raw);
  several.crowd.addUser(crowdUser('grace', { email: 'shared@example.com' }));
  several.crowd.addUser(crowdUser('grace-admin', { email: 'shared@example.com' }));
  const error = await several.establish(samlProfile({ nameId: 'shared@example.com' })).catch((caught: unknown) => caught);
  t.type(error, IdentityAmbiguousError);
  t.equal((error as IdentityAmbiguousError).detail, 'ambiguous_email');
  t.match((error as Error).message, /"grace", "grace-admin"/, 'the log names the accounts');

  const none = setup(raw);
  const missing = await none.establish(samlProfile({ nameId: 'ghost@example.com' })).catch((caught: unknown) => caught);
  t.type(missing, IdentityNotFoundError);
  t.equal((missing as IdentityNotFoundError).detail, 'crowd_user_not_found');
  t.match((missing as Error).message, /identity\.username\[0\] \(the NameID, lookup by email\): "ghost@example\.com" not found/);
});

t.test('several values naming the same Crowd user are one user; naming two users is refused', async (t) => {
  const raw: RawIdentity = { username: [{ from: 'attribute', attribute: 'mail', lookup: 'email' }] };
  const same = setup(raw);
  same.crowd.addUser(crowdUser('heidi', { email: 'heidi@example.com' }));
  t.equal((await same.establish(samlProfile({ attributes: { mail: ['heidi@example.com', 'HEIDI@EXAMPLE.COM'] } }))).user.name, 'heidi');

  const two = setup({ username: [{ from: 'attribute', attribute: 'uid' }] });
  two.crowd.addUser(crowdUser('ivan'));
  two.crowd.addUser(crowdUser('ivan2'));
  const error = await two.establish(samlProfile({ attributes: { uid: ['ivan', 'ivan2'] } })).catch((caught: unknown) => caught);
  t.type(error, IdentityAmbiguousError);
  t.equal((error as IdentityAmbiguousError).detail, 'ambiguous_username');
});

t.test('more than ten values from one strategy are refused before asking Crowd', async (t) => {
  const { crowd, establish } = setup({ username: [{ from: 'attribute', attribute: 'uid' }] });
  const values = Array.from({ length: 11 }, (_, i) => `user${i}`);
  const error = await establish(samlProfile({ attributes: { uid: values } })).catch((caught: unknown) => caught);
  t.type(error, IdentityAmbiguousError);
  t.equal((error as IdentityAmbiguousError).detail, 'too_many_candidates');
  t.same(crowd.calls, []);
});

t.test('no user and provisioning off: refused, the attempt names the would-be username', async (t) => {
  const { crowd, attempt, establish } = setup({ username: [{ from: 'attribute', attribute: 'uid' }, { from: 'nameId', transforms: ['lowercase'] }] });
  const error = await establish(samlProfile({ nameId: 'Judy' })).catch((caught: unknown) => caught);
  t.type(error, IdentityNotFoundError);
  t.match((error as Error).message, /identity\.provisioning is off/);
  t.match((error as Error).message, /identity\.username\[0\] \(attribute "uid", lookup by username\): no value/);
  t.equal(attempt.username, 'judy');
  t.same(crowd.callsTo('createUser'), []);
});

t.test('provisioning on: the user is created just in time from the IdP attributes', async (t) => {
  const { crowd, attempt, establish } = setup({
    provisioning: { enabled: true, updateProfile: true, attributes: { email: 'mail', firstName: 'given', lastName: 'sn' } },
  });
  const { user } = await establish(samlProfile({ nameId: 'kim', attributes: { mail: ['kim@example.com'], given: ['Kim'], sn: ['Lee'] } }));
  t.same(user, { name: 'kim', active: true, email: 'kim@example.com', firstName: 'Kim', lastName: 'Lee', displayName: 'Kim Lee' });
  t.equal(attempt.userCreated, true);
  t.equal(attempt.username, 'kim');
  const [[created]] = crowd.callsTo('createUser') as [[{ password: string; active: boolean; name: string }]];
  t.equal(created.name, 'kim');
  t.equal(created.active, true);
  t.ok(created.password.length >= 64, 'a long random password nobody knows');
  t.same(crowd.callsTo('updateUser'), [], 'a user just created is not updated');
  t.ok(crowd.users.has('kim'));
});

t.test('provisioning: each login gets a different unusable password', async (t) => {
  const raw: RawIdentity = { provisioning: { enabled: true } };
  const first = setup(raw);
  const second = setup(raw);
  await first.establish(samlProfile({ nameId: 'a' }));
  await second.establish(samlProfile({ nameId: 'a' }));
  const password = (fake: FakeCrowd) => (fake.callsTo('createUser')[0]?.[0] as { password: string }).password;
  t.not(password(first.crowd), password(second.crowd));
});

t.test('provisioning: the name comes from the first username-lookup strategy; email strategies give none', async (t) => {
  const raw: RawIdentity = {
    provisioning: { enabled: true },
    username: [{ from: 'attribute', attribute: 'mail', lookup: 'email' }, { from: 'attribute', attribute: 'uid' }, { from: 'nameId' }],
  };
  const named = setup(raw);
  t.equal((await named.establish(samlProfile({ nameId: 'from-nameid', attributes: { mail: ['x@example.com'], uid: ['from-uid'] } }))).user.name, 'from-uid');

  const emailOnly = setup({ provisioning: { enabled: true }, username: [{ from: 'nameId', lookup: 'email' }] });
  const error = await emailOnly.establish(samlProfile({ nameId: 'new@example.com' })).catch((caught: unknown) => caught);
  t.type(error, IdentityNotFoundError);
  t.match((error as Error).message, /no identity\.username strategy with lookup "username" yields a name/);
  t.same(emailOnly.crowd.callsTo('createUser'), []);
});

t.test('provisioning: several names from the first username strategy are refused, not guessed', async (t) => {
  const { crowd, establish } = setup({ provisioning: { enabled: true }, username: [{ from: 'attribute', attribute: 'uid' }] });
  const error = await establish(samlProfile({ attributes: { uid: ['one', 'two'] } })).catch((caught: unknown) => caught);
  t.type(error, IdentityAmbiguousError);
  t.equal((error as IdentityAmbiguousError).detail, 'ambiguous_new_username');
  t.same(crowd.callsTo('createUser'), []);
});

t.test('provisioning: a user created meanwhile by a concurrent login is used as it is', async (t) => {
  // Crowd refuses the creation (INVALID_USER) because another login just created the same user.
  class RacingCrowd extends FakeCrowd {
    override async createUser(): Promise<void> {
      this.addUser(crowdUser('lena', { displayName: 'Lena (other login)' }));
      throw new IdentityNotFoundError('user already exists', { detail: 'INVALID_USER' });
    }
  }
  const { attempt, establish } = setup({ provisioning: { enabled: true } }, new RacingCrowd());
  const { user } = await establish(samlProfile({ nameId: 'lena' }));
  t.equal(user.displayName, 'Lena (other login)');
  t.equal(attempt.userCreated, false);
});

t.test('provisioning: any other refusal to create the user fails the login', async (t) => {
  const crowd = new FakeCrowd();
  crowd.failures.set('createUser', new CrowdRejectedError('no directory permission'));
  const { establish } = setup({ provisioning: { enabled: true } }, crowd);
  await t.rejects(establish(samlProfile({ nameId: 'mia' })), CrowdRejectedError);
});

t.test('an inactive Crowd user is refused', async (t) => {
  const { crowd, attempt, establish } = setup();
  crowd.addUser(crowdUser('ned', { active: false }));
  const error = await establish(samlProfile({ nameId: 'ned' })).catch((caught: unknown) => caught);
  t.type(error, AccessDeniedError);
  t.equal((error as AccessDeniedError).detail, 'INACTIVE_ACCOUNT');
  t.match((error as AccessDeniedError).publicMessage, /deactivated/);
  t.equal(attempt.username, 'ned', 'the attempt says who was refused');
});

t.test('updateProfile: changed fields are written back; unchanged ones and unsent ones are not', async (t) => {
  const raw: RawIdentity = { provisioning: { updateProfile: true, attributes: { email: 'mail', displayName: 'cn', firstName: 'given' } } };
  const { crowd, attempt, establish } = setup(raw);
  crowd.addUser(crowdUser('olga', { email: 'OLGA@example.com', displayName: 'Olga', firstName: 'Olga', lastName: 'Old' }));
  const { user } = await establish(samlProfile({ nameId: 'olga', attributes: { mail: ['olga@example.com'], cn: ['Olga Petrova'] } }));
  t.same(attempt.profileUpdated, ['displayName'], 'email compares ignoring case; firstName not sent');
  t.equal(user.displayName, 'Olga Petrova');
  t.equal(user.lastName, 'Old');
  t.same(crowd.callsTo('updateUser'), [[{ name: 'olga', active: true, email: 'OLGA@example.com', displayName: 'Olga Petrova', firstName: 'Olga', lastName: 'Old' }]]);

  const same = setup(raw);
  same.crowd.addUser(crowdUser('olga', { displayName: 'Olga Petrova' }));
  await same.establish(samlProfile({ nameId: 'olga', attributes: { cn: ['Olga Petrova'] } }));
  t.same(same.crowd.callsTo('updateUser'), [], 'nothing changed: no write');

  const off = setup({ provisioning: { attributes: { displayName: 'cn' } } });
  off.crowd.addUser(crowdUser('olga', { displayName: 'Olga' }));
  t.equal((await off.establish(samlProfile({ nameId: 'olga', attributes: { cn: ['New'] } }))).user.displayName, 'Olga');
  t.same(off.crowd.callsTo('updateUser'), [], 'updateProfile off');
});

t.test('updateProfile: a directory that refuses the update does not lock the user out', async (t) => {
  const crowd = new FakeCrowd();
  crowd.failures.set('updateUser', new CrowdRejectedError('read-only directory'));
  const { attempt, establish } = setup({ provisioning: { updateProfile: true, attributes: { displayName: 'cn' } } }, crowd);
  crowd.addUser(crowdUser('pia', { displayName: 'Pia' }));
  const { user } = await establish(samlProfile({ nameId: 'pia', attributes: { cn: ['Pia Q'] } }));
  t.equal(user.displayName, 'Pia', 'the user as Crowd has it');
  t.same(attempt.profileUpdated, []);
  t.match(attempt.warnings, [/profile not updated .*read-only directory/]);
});

t.test('updateProfile: an unexpected error is not swallowed', async (t) => {
  const crowd = new FakeCrowd();
  crowd.failures.set('updateUser', new TypeError('a bug'));
  const { establish } = setup({ provisioning: { updateProfile: true, attributes: { displayName: 'cn' } } }, crowd);
  crowd.addUser(crowdUser('pia', { displayName: 'Pia' }));
  await t.rejects(establish(samlProfile({ nameId: 'pia', attributes: { cn: ['Pia Q'] } })), TypeError);
});

t.test('groups add-only: mapped groups are added, nothing is removed', async (t) => {
  const { crowd, crowdGroups, attempt, establish } = setup({
    groups: { attribute: 'groups', map: { Engineering: ['jira-software-users'], Admins: ['jira-administrators'] }, patterns: [{ match: 'team-(.+)', group: 'jira-team-$1' }] },
  });
  crowd.addUser(crowdUser('quinn'), ['jira-team-old', 'local-group']);
  crowd.addGroup('jira-software-users');
  crowd.addGroup('jira-team-blue');
  const { idpGroups } = await establish(samlProfile({ nameId: 'quinn', attributes: { groups: ['Engineering', 'team-blue', 'unmapped', ' engineering '] } }));
  t.same(idpGroups, ['Engineering', 'team-blue', 'unmapped'], 'the IdP values, trimmed, each once');
  t.same(attempt.groupsAdded, ['jira-software-users', 'jira-team-blue']);
  t.same(attempt.groupsRemoved, []);
  t.same(crowd.groupsOf('quinn'), ['jira-team-old', 'local-group', 'jira-software-users', 'jira-team-blue']);
  t.same(crowdGroups.forgotten, ['quinn'], 'the gate forgets the cached groups');
});

t.test('groups: nothing to change, nothing written and nothing forgotten', async (t) => {
  const { crowd, crowdGroups, establish } = setup({ groups: { attribute: 'groups', map: { staff: ['jira-users'] } } });
  crowd.addUser(crowdUser('rita'), ['JIRA-USERS']);
  await establish(samlProfile({ nameId: 'rita', attributes: { groups: ['staff'] } }));
  t.same(crowd.callsTo('addUserToGroup'), []);
  t.same(crowdGroups.forgotten, []);
});

t.test('groups configured without a mapping: the IdP groups are read, memberships are not looked at', async (t) => {
  const { crowd, establish } = setup({ groups: { attribute: 'groups' } });
  crowd.addUser(crowdUser('sam'));
  t.same((await establish(samlProfile({ nameId: 'sam', attributes: { groups: ['a', 'b'] } }))).idpGroups, ['a', 'b']);
  t.same(crowd.callsTo('getDirectGroups'), []);
  const none = setup({ groups: { attribute: 'groups' } });
  none.crowd.addUser(crowdUser('sam'));
  t.same((await none.establish(samlProfile({ nameId: 'sam' }))).idpGroups, [], 'no value sent: no groups');
});

t.test('groups sync-managed: managed groups the IdP no longer maps are removed, unmanaged ones kept', async (t) => {
  const { crowd, crowdGroups, attempt, establish } = setup({
    groups: { attribute: 'groups', mode: 'sync-managed', map: { Admins: ['jira-administrators'] }, patterns: [{ match: 'team-(.+)', group: 'jira-team-$1' }] },
  });
  crowd.addUser(crowdUser('tom'), ['jira-administrators', 'jira-team-red', 'jira-team-blue', 'local-group']);
  await establish(samlProfile({ nameId: 'tom', attributes: { groups: ['team-blue'] } }));
  t.same(attempt.groupsAdded, []);
  t.same(attempt.groupsRemoved, ['jira-administrators', 'jira-team-red']);
  t.same(crowd.groupsOf('tom'), ['jira-team-blue', 'local-group']);
  t.same(crowdGroups.forgotten, ['tom']);
});

t.test('groups: a mapped group missing in Crowd is skipped, or created with createMissing', async (t) => {
  const raw: RawIdentity = { groups: { attribute: 'groups', map: { staff: ['jira-users', 'brand-new'] } } };
  const skip = setup(raw);
  skip.crowd.addUser(crowdUser('uma'));
  skip.crowd.addGroup('jira-users');
  await skip.establish(samlProfile({ nameId: 'uma', attributes: { groups: ['staff'] } }));
  t.same(skip.attempt.groupsNotFound, ['brand-new']);
  t.same(skip.attempt.groupsAdded, ['jira-users']);
  t.same(skip.crowd.callsTo('createGroup'), []);

  const create = setup({ groups: { ...raw.groups!, createMissing: true } });
  create.crowd.addUser(crowdUser('uma'));
  create.crowd.addGroup('jira-users');
  await create.establish(samlProfile({ nameId: 'uma', attributes: { groups: ['staff'] } }));
  t.same(create.attempt.groupsCreated, ['brand-new']);
  t.same(create.attempt.groupsAdded, ['jira-users', 'brand-new']);
  t.same(create.crowd.callsTo('createGroup').map(([name]) => name), ['brand-new']);
  t.same(create.crowd.groupsOf('uma'), ['jira-users', 'brand-new']);
});

t.test('groups: a group created meanwhile by a concurrent login is fine; a real failure is not', async (t) => {
  class RacingCrowd extends FakeCrowd {
    override async createGroup(name: string): Promise<void> {
      this.addGroup(name);
      throw new CrowdRejectedError('group already exists');
    }
  }
  const raw: RawIdentity = { groups: { attribute: 'groups', map: { staff: ['new-group'] }, createMissing: true } };
  const race = setup(raw, new RacingCrowd());
  race.crowd.addUser(crowdUser('vic'));
  await race.establish(samlProfile({ nameId: 'vic', attributes: { groups: ['staff'] } }));
  t.same(race.attempt.groupsAdded, ['new-group']);
  t.same(race.attempt.groupsCreated, [], 'another login created it');

  const crowd = new FakeCrowd();
  crowd.failures.set('createGroup', new CrowdUnavailableError('Crowd down'));
  const failing = setup(raw, crowd);
  crowd.addUser(crowdUser('vic'));
  await t.rejects(failing.establish(samlProfile({ nameId: 'vic', attributes: { groups: ['staff'] } })), CrowdUnavailableError);
});

t.test('groups: default groups go to users created just in time only', async (t) => {
  const raw: RawIdentity = { provisioning: { enabled: true }, groups: { attribute: 'groups', defaultGroups: ['crowd-sso-users'] } };
  const created = setup(raw);
  created.crowd.addGroup('crowd-sso-users');
  await created.establish(samlProfile({ nameId: 'wes' }));
  t.same(created.crowd.groupsOf('wes'), ['crowd-sso-users']);

  const existing = setup(raw);
  existing.crowd.addGroup('crowd-sso-users');
  existing.crowd.addUser(crowdUser('wes'));
  await existing.establish(samlProfile({ nameId: 'wes' }));
  t.same(existing.crowd.groupsOf('wes'), []);
  t.same(existing.crowd.callsTo('getDirectGroups'), [], 'no mapping and not new: memberships not read');
});

t.test("groups: Entra ID's overage claim instead of the groups is refused", async (t) => {
  const { crowd, establish } = setup({ groups: { attribute: 'groups', map: { staff: ['jira-users'] } } });
  crowd.addUser(crowdUser('xena'));
  const error = await establish(samlProfile({ nameId: 'xena', attributes: { [OVERAGE]: ['https://graph.microsoft.com/v1.0/users/x/getMemberObjects'] } })).catch(
    (caught: unknown) => caught,
  );
  t.type(error, AccessDeniedError);
  t.equal((error as AccessDeniedError).detail, 'idp_groups_overage');
  t.same(crowd.calls, [], 'refused before any Crowd call');

  const sent = setup({ groups: { attribute: 'groups' } });
  sent.crowd.addUser(crowdUser('xena'));
  t.same((await sent.establish(samlProfile({ nameId: 'xena', attributes: { groups: ['staff'], [OVERAGE]: ['x'] } }))).idpGroups, ['staff'], 'groups sent too: used');
});
