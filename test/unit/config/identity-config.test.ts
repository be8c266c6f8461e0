import t from 'tap';
import { demoKeyFiles, loadFrom, minimalConfig, withChanges } from './config-fixture.js';

const groups = { attribute: 'groups' };

/** Each case: changes to the minimal configuration → exactly the problems an administrator reads. */
const cases: { name: string; changes: Record<string, unknown>; problems: string[] }[] = [
  { name: 'no strategy at all', changes: { 'identity.username': [] }, problems: ['identity.username: must list at least one entry'] },
  { name: 'an unknown transform', changes: { 'identity.username': [{ from: 'nameId', transforms: ['uppercase'] }] }, problems: ['identity.username[0].transforms[0]: must be one of "lowercase", "strip-email-domain", "strip-windows-domain"'] },
  { name: 'a replace without "with"', changes: { 'identity.username': [{ from: 'nameId', transforms: [{ replace: { pattern: 'x' } }] }] }, problems: ['identity.username[0].transforms[0].replace: missing required key "with"'] },
  {
    name: 'a replace pattern that is not a regular expression',
    changes: { 'identity.username': [{ from: 'nameId', transforms: ['lowercase', { replace: { pattern: '(unclosed', with: '' } }] }] },
    problems: ['identity.username[0].transforms[1].replace.pattern: not a valid regular expression (Invalid regular expression: /(unclosed/: Unterminated group)'],
  },
  { name: 'an attribute on a NameID strategy', changes: { 'identity.username': [{ from: 'nameId', attribute: 'uid' }] }, problems: ['identity.username[0].attribute: only used when "from" is "attribute"'] },
  { name: 'an unknown lookup', changes: { 'identity.username': [{ from: 'nameId', lookup: 'uid' }] }, problems: ['identity.username[0].lookup: must be one of "username", "email"'] },
  {
    name: 'provisioning without a strategy that names the new user',
    changes: { 'identity.username': [{ from: 'nameId', lookup: 'email' }], 'identity.provisioning': { enabled: true } },
    problems: ['identity.provisioning.enabled: needs an identity.username strategy with lookup "username": its value is the name the new Crowd user gets'],
  },
  { name: 'a misspelt provisioning attribute', changes: { 'identity.provisioning': { attributes: { mail: 'email' } } }, problems: ['identity.provisioning.attributes: unknown key "mail" (did you mean "email"?)'] },
  { name: 'groups without attribute', changes: { 'identity.groups': { mode: 'add-only' } }, problems: ['identity.groups: missing required key "attribute"'] },
  { name: 'an unknown group mode', changes: { 'identity.groups': { ...groups, mode: 'sync' } }, problems: ['identity.groups.mode: must be one of "add-only", "sync-managed"'] },
  { name: 'a map entry without groups', changes: { 'identity.groups': { ...groups, map: { admins: [] } } }, problems: ['identity.groups.map.admins: must list at least one entry'] },
  { name: 'a pattern that is not a regular expression', changes: { 'identity.groups': { ...groups, patterns: [{ match: 'jira-[', group: 'jira-$1' }] } }, problems: ['identity.groups.patterns[0].match: not a valid regular expression (Invalid regular expression: /jira-[/: Unterminated character class)'] },
  {
    name: 'a template that names a capture group the pattern lacks',
    changes: { 'identity.groups': { ...groups, patterns: [{ match: 'jira-(.+)', group: 'jira-$2' }, { match: 'x-.+', group: '$<team>-users' }] } },
    problems: [
      'identity.groups.patterns[0].group: refers to $2, but "match" has 1 capture group',
      'identity.groups.patterns[1].group: refers to $<team>, but "match" has no capture group named "team"',
    ],
  },
  {
    name: 'a bare template in sync-managed mode (it would own every Crowd group)',
    changes: { 'identity.groups': { ...groups, mode: 'sync-managed', patterns: [{ match: '/(.+)', group: '$1' }] } },
    problems: [
      'identity.groups.patterns[0].group: in mode "sync-managed" the template needs fixed text around its references (e.g. "idp-$1"): a pattern manages every Crowd group of its shape, and a bare reference would manage every group, removing users from groups the IdP knows nothing about',
    ],
  },
  { name: 'an access restriction without groups', changes: { 'apps[0].access': { contact: 'the help desk' } }, problems: ['apps[0].access: lists no group: set idpGroups or crowdGroups (or leave access out to let in everyone Crowd lets in)'] },
  {
    name: 'IdP groups in an access restriction without identity.groups',
    changes: { 'apps[0].access': { idpGroups: ['jira-users'] } },
    problems: ["apps[0].access.idpGroups: needs identity.groups.attribute: the SAML attribute in which the IdP sends the user's groups"],
  },
  { name: 'a misspelt access key', changes: { 'apps[0].access': { crowdGroup: ['jira-users'] } }, problems: ['apps[0].access: unknown key "crowdGroup" (did you mean "crowdGroups"?)'] },
];

t.test('identity and access problems are reported with their key paths', async (t) => {
  const dir = t.testdir(demoKeyFiles());
  for (const c of cases) {
    const outcome = await loadFrom(dir, withChanges(minimalConfig(), c.changes));
    t.same(outcome.problems, c.problems, c.name);
  }
});

t.test('defaults: the NameID is the username, no provisioning, no group sync, no access restriction', async (t) => {
  const { config } = await loadFrom(t.testdir(demoKeyFiles()), minimalConfig());
  t.same(config?.identity, {
    username: [{ from: 'nameId', attribute: undefined, transforms: [], lookup: 'username' }],
    provisioning: { enabled: false, updateProfile: false, attributes: { email: undefined, firstName: undefined, lastName: undefined, displayName: undefined } },
    groups: undefined,
  });
  t.equal(config?.apps[0]?.access, undefined);
});

t.test('a full identity section compiles: regular expressions built once, map keys ignoring case, pattern shapes', async (t) => {
  const { config, problems } = await loadFrom(
    t.testdir(demoKeyFiles()),
    withChanges(minimalConfig(), {
      identity: {
        username: [
          { from: 'attribute', attribute: 'upn', transforms: ['strip-email-domain', 'lowercase', { replace: { pattern: '^adm_', with: '' } }] },
          { from: 'attribute', attribute: 'mail', lookup: 'email' },
        ],
        provisioning: { enabled: true, updateProfile: true, attributes: { email: 'mail', firstName: 'givenName', lastName: 'sn' } },
        groups: {
          attribute: 'groups',
          mode: 'sync-managed',
          map: { 'Jira-Admins': ['jira-administrators'], 'jira-admins': ['jira-users'] },
          patterns: [{ match: 'team-(?<team>[a-z]+)', group: 'jira-$<team>' }],
          defaultGroups: ['jira-software-users'],
          createMissing: true,
        },
      },
      'apps[0].access': { crowdGroups: ['jira-software-users'], contact: 'the IT service desk' },
    }),
  );
  t.same(problems, []);
  const identity = config?.identity;
  const [upn, mail] = identity?.username ?? [];
  t.equal(upn?.transforms.length, 3);
  const replace = upn?.transforms[2];
  t.ok(replace?.kind === 'replace' && replace.pattern instanceof RegExp && replace.pattern.global, 'replace is a global regular expression');
  t.equal(mail?.lookup, 'email');
  t.same(identity?.provisioning, { enabled: true, updateProfile: true, attributes: { email: 'mail', firstName: 'givenName', lastName: 'sn', displayName: undefined } });
  const groups = identity?.groups;
  t.same([...(groups?.map ?? [])], [['jira-admins', ['jira-administrators', 'jira-users']]], 'keys differing in case are one key');
  const pattern = groups?.patterns[0];
  t.ok(pattern?.match.test('TEAM-blue'), 'patterns match ignoring case');
  t.notOk(pattern?.match.test('my-team-blue'), 'patterns match the whole value');
  t.ok(pattern?.produces.test('jira-blue') && !pattern.produces.test('confluence-blue'), 'the shape of the template');
  t.same(groups?.defaultGroups, ['jira-software-users']);
  t.equal(groups?.createMissing, true);
  t.same(config?.apps[0]?.access, { idpGroups: [], crowdGroups: ['jira-software-users'], contact: 'the IT service desk' });
});

t.test('a pattern cannot escape its anchors', async (t) => {
  const { config } = await loadFrom(
    t.testdir(demoKeyFiles()),
    withChanges(minimalConfig(), { 'identity.groups': { attribute: 'groups', patterns: [{ match: 'a)|(.*', group: 'x-$1' }] } }),
  );
  t.equal(config, undefined, 'an unbalanced pattern is refused rather than wrapped');
});
