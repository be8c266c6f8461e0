import t from 'tap';
import { compileIdentityConfig, type RawGroupSync } from '../../../src/config/identity-config.js';
import type { GroupSyncConfig } from '../../../src/config/runtime-config.js';
import { isManagedGroup, mapIdpGroups, planGroupChanges } from '../../../src/identity/group-plan.js';

function groups(raw: RawGroupSync): GroupSyncConfig {
  return compileIdentityConfig({ groups: raw }).groups as GroupSyncConfig;
}

const ENTRA_ADMINS = '6f1c4f0e-1b7d-4c61-9d7e-0a6b1f2d3c4e';
const base: RawGroupSync = {
  attribute: 'groups',
  map: { [ENTRA_ADMINS]: ['jira-administrators', 'confluence-administrators'], 'Engineering': ['jira-software-users'] },
  patterns: [{ match: 'team-(.+)', group: 'jira-team-$1' }],
  defaultGroups: ['crowd-sso-users'],
};

t.test('IdP values map through the table (ignoring case) and the patterns (whole value)', async (t) => {
  const config = groups(base);
  t.same(mapIdpGroups(config, [ENTRA_ADMINS.toUpperCase(), 'engineering', 'TEAM-Blue', 'my-team-red', 'unmapped']), [
    'jira-administrators',
    'confluence-administrators',
    'jira-software-users',
    'jira-team-Blue',
  ]);
  t.same(mapIdpGroups(config, ['Engineering', 'ENGINEERING']), ['jira-software-users'], 'each group once');
  t.same(mapIdpGroups(groups({ attribute: 'g', patterns: [{ match: '/(.*)', group: 'kc-$1' }, { match: '/.*', group: 'kc-all' }] }), ['/']), ['kc-', 'kc-all']);
});

t.test('add-only: adds what is missing, never removes', async (t) => {
  const config = groups(base);
  const plan = planGroupChanges(config, { idpGroups: ['Engineering'], currentGroups: ['JIRA-ADMINISTRATORS', 'jira-team-old', 'local-group'], isNewUser: false });
  t.same(plan, { add: ['jira-software-users'], remove: [] });
  t.same(planGroupChanges(config, { idpGroups: ['engineering'], currentGroups: ['Jira-Software-Users'], isNewUser: false }), { add: [], remove: [] }, 'memberships compare ignoring case');
});

t.test('default groups are given to new users only', async (t) => {
  const config = groups(base);
  t.same(planGroupChanges(config, { idpGroups: [], currentGroups: [], isNewUser: true }), { add: ['crowd-sso-users'], remove: [] });
  t.same(planGroupChanges(config, { idpGroups: [], currentGroups: [], isNewUser: false }), { add: [], remove: [] });
});

t.test('sync-managed: removes managed groups the IdP no longer maps; unmanaged groups are never touched', async (t) => {
  const config = groups({ ...base, mode: 'sync-managed' });
  const plan = planGroupChanges(config, {
    idpGroups: ['team-blue'],
    currentGroups: ['jira-administrators', 'jira-software-users', 'jira-team-red', 'jira-team-blue', 'crowd-sso-users', 'local-group', 'jira-teams'],
    isNewUser: false,
  });
  t.same(plan.add, []);
  t.same(plan.remove, ['jira-administrators', 'jira-software-users', 'jira-team-red'], 'map values and pattern-shaped groups only');
  for (const group of ['crowd-sso-users', 'local-group', 'jira-teams']) t.notOk(isManagedGroup(config, group), `${group} is not managed`);
  t.ok(isManagedGroup(config, 'JIRA-TEAM-anything'), 'the shape of a template, ignoring case');
});

t.test('sync-managed: a default group that the map also manages follows the map from the next login on', async (t) => {
  const config = groups({ attribute: 'groups', mode: 'sync-managed', map: { staff: ['jira-users'] }, defaultGroups: ['jira-users'] });
  t.same(planGroupChanges(config, { idpGroups: [], currentGroups: [], isNewUser: true }), { add: ['jira-users'], remove: [] });
  t.same(planGroupChanges(config, { idpGroups: [], currentGroups: ['jira-users'], isNewUser: false }), { add: [], remove: ['jira-users'] });
});
