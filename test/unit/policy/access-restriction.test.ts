import t from 'tap';
import { isAccessAllowed } from '../../../src/policy/access-restriction.js';

t.test('any listed IdP group or Crowd group lets the user in; names compare ignoring case', async (t) => {
  const access = { idpGroups: ['Jira-Users'], crowdGroups: ['jira-software-users'], contact: undefined };
  t.ok(isAccessAllowed(access, ['jira-users'], []), 'IdP group');
  t.ok(isAccessAllowed(access, [], ['JIRA-SOFTWARE-USERS']), 'Crowd group');
  t.notOk(isAccessAllowed(access, ['confluence-users'], ['confluence-users']), 'neither');
  t.notOk(isAccessAllowed(access, [], []), 'no groups at all');
  t.notOk(isAccessAllowed({ idpGroups: [], crowdGroups: ['a'], contact: undefined }, ['a'], []), 'an IdP group does not count as a Crowd group');
});
