import t from 'tap';
import { PROXY_APP, startStack, type StackOptions } from '../../support/stack.js';
import { crowdOf, loginWith, sortedGroups } from './identity-kit.js';

/** alice starts in two managed groups (engineering, jira-team-red) and two the mapping knows nothing about. */
function crowdWith(options: { proxyMayWrite?: boolean } = {}): StackOptions['crowd'] {
  return {
    applications: {
      [PROXY_APP.name]: { password: PROXY_APP.password, allowGenerateUserTokens: true, allowDirectoryWrites: options.proxyMayWrite ?? true },
      jira: { password: 'jira-pw', allowedGroups: ['jira-software-users'] },
      confluence: { password: 'confluence-pw' },
    },
    users: [
      { name: 'alice', email: 'alice@example.com', groups: ['engineering', 'jira-team-red', 'local-admins', 'crowd-sso-users'] },
      { name: 'dave', email: 'dave@example.com', groups: ['jira-team-blue', 'jira-software-users'] },
    ],
  };
}

function groupsConfig(mode: 'add-only' | 'sync-managed', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    identity: {
      groups: {
        attribute: 'groups',
        mode,
        map: { Eng: ['engineering'], 'jira-users': ['jira-software-users'] },
        patterns: [{ match: 'team-(.+)', group: 'jira-team-$1' }],
        defaultGroups: ['crowd-sso-users'],
        ...extra,
      },
    },
  };
}

t.test('add-only: mapped groups are added, nothing is ever removed', async (t) => {
  const stack = await startStack(t, { crowd: crowdWith(), config: groupsConfig('add-only') });
  const crowd = crowdOf(stack, t);
  const { res, audit } = await loginWith(stack, { nameId: 'alice', attributes: { groups: ['team-blue', 'unmapped'] } });
  t.equal(res.status, 303);
  t.match(audit, { outcome: 'success', groupsAdded: ['jira-team-blue'], groupsRemoved: [] });
  t.same(sortedGroups(await crowd.getDirectGroups('alice')), ['crowd-sso-users', 'engineering', 'jira-team-blue', 'jira-team-red', 'local-admins']);
});

t.test('sync-managed: managed groups follow the IdP; unmanaged groups and default groups are never touched', async (t) => {
  const stack = await startStack(t, { crowd: crowdWith(), config: groupsConfig('sync-managed') });
  const crowd = crowdOf(stack, t);
  const { audit } = await loginWith(stack, { nameId: 'alice', attributes: { groups: ['TEAM-blue', 'jira-users'] } });
  t.match(audit, { outcome: 'success', groupsAdded: ['jira-team-blue', 'jira-software-users'], groupsRemoved: ['engineering', 'jira-team-red'] });
  t.same(sortedGroups(await crowd.getDirectGroups('alice')), ['crowd-sso-users', 'jira-software-users', 'jira-team-blue', 'local-admins']);

  const none = await loginWith(stack, { nameId: 'alice' });
  t.match(none.audit, { outcome: 'success', groupsAdded: [], groupsRemoved: ['jira-team-blue', 'jira-software-users'] }, 'no groups attribute = no IdP groups');
  t.same(sortedGroups(await crowd.getDirectGroups('alice')), ['crowd-sso-users', 'local-admins'], 'only the unmanaged groups are left');
});

t.test('memberships change before the Crowd session: the first page after the login already has them', async (t) => {
  const stack = await startStack(t, { crowd: crowdWith(), config: groupsConfig('sync-managed') });
  const first = await loginWith(stack, { nameId: 'alice', attributes: { groups: ['jira-users'] } });
  const page = await first.browser.navigate(first.res.headers.location as string);
  t.match(page.body, /Logged in as <b>alice<\/b>/, 'Jira (jira-software-users only) lets alice in at once');

  const removed = await loginWith(stack, { nameId: 'dave', attributes: { groups: ['team-blue'] } });
  t.match(removed.audit, { groupsRemoved: ['jira-software-users'] });
  const refused = await removed.browser.navigate(removed.res.headers.location as string);
  t.match(refused.body, /Not logged in/, 'a removal takes effect on the first page too: Crowd refuses dave in Jira');
});

t.test('createMissing: off skips a missing group and warns; on creates it', async (t) => {
  t.test('off', async (t) => {
    const stack = await startStack(t, { crowd: crowdWith(), config: groupsConfig('add-only') });
    const crowd = crowdOf(stack, t);
    const { res, audit } = await loginWith(stack, { nameId: 'alice', attributes: { groups: ['team-green', 'team-blue'] } });
    t.equal(res.status, 303, 'the login goes on');
    t.match(audit, { level: 40, groupsAdded: ['jira-team-blue'], groupsNotFound: ['jira-team-green'], groupsCreated: [] });
    t.match(audit.msg, /createMissing/);
    t.equal(await crowd.getGroup('jira-team-green'), null);
  });
  t.test('on', async (t) => {
    const stack = await startStack(t, { crowd: crowdWith(), config: groupsConfig('add-only', { createMissing: true }) });
    const crowd = crowdOf(stack, t);
    const { audit } = await loginWith(stack, { nameId: 'alice', attributes: { groups: ['team-green'] } });
    t.match(audit, { level: 30, groupsAdded: ['jira-team-green'], groupsCreated: ['jira-team-green'], groupsNotFound: [] });
    t.match(await crowd.getGroup('jira-team-green'), { name: 'jira-team-green', active: true });
    t.ok(sortedGroups(await crowd.getDirectGroups('alice')).includes('jira-team-green'));
  });
});

t.test('a Crowd that refuses membership changes stops the login (never a session with the wrong groups)', async (t) => {
  const stack = await startStack(t, { crowd: crowdWith({ proxyMayWrite: false }), config: groupsConfig('sync-managed') });
  const { res, audit } = await loginWith(stack, { nameId: 'alice', attributes: { groups: ['team-red', 'eng'] } });
  t.equal(res.status, 303, 'nothing to change: fine');
  t.match(audit, { groupsAdded: [], groupsRemoved: [] });
  const blocked = await loginWith(stack, { nameId: 'alice', attributes: { groups: ['team-red'] } });
  t.equal(blocked.res.status, 502);
  t.notOk(blocked.res.headers['set-cookie']);
  t.match(blocked.audit, { outcome: 'failure', reason: 'crowd_rejected', user: 'alice', groupsRemoved: [] });
  t.equal(stack.crowd.sessions.size, 1, 'only the first login made a session');
});

t.test('Entra ID group overage (more than 150 groups) is refused, not read as "no groups"', async (t) => {
  const stack = await startStack(t, { crowd: crowdWith(), config: groupsConfig('sync-managed') });
  const crowd = crowdOf(stack, t);
  const { res, audit } = await loginWith(stack, {
    nameId: 'alice',
    attributes: { 'http://schemas.microsoft.com/claims/groups.link': 'https://graph.windows.net/tenant/users/alice/getMemberObjects' },
  });
  t.equal(res.status, 403);
  t.match(res.body, /did not send your group memberships/);
  t.match(audit, { outcome: 'failure', reason: 'access_denied', detail: 'idp_groups_overage' });
  t.same(sortedGroups(await crowd.getDirectGroups('alice')), ['crowd-sso-users', 'engineering', 'jira-team-red', 'local-admins'], 'nothing removed');
});
