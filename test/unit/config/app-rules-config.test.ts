/** Config keys of issue 4: presets merged per app, modes, logout, session limits, emergency access; and their problems. */
import t from 'tap';
import type { RuntimeConfig } from '../../../src/config/runtime-config.js';
import { demoKeyFiles, loadFrom, minimalConfig, withChanges } from './config-fixture.js';

async function compiled(dir: string, changes: Record<string, unknown>): Promise<RuntimeConfig> {
  const outcome = await loadFrom(dir, withChanges(minimalConfig(), changes));
  if (outcome.config === undefined) throw new Error(`unexpected problems: ${outcome.problems.join('; ')}`);
  return outcome.config;
}

t.test('defaults: enforce, no preset, every path required, logout marker 60 s, no session limits', async (t) => {
  const config = await compiled(t.testdir(demoKeyFiles()), {});
  const [app] = config.apps;
  t.equal(config.mode, 'enforce');
  t.same(config.logout, { redirectUrl: undefined, suppressLoginMs: 60_000 });
  t.match(app, { preset: undefined, mode: 'enforce', rules: [], loginPaths: [], logoutPaths: [], requiredAuthnContext: undefined, emergencyAccess: undefined });
  t.equal(config.saml.maxSessionAgeMs, undefined);
  t.equal(config.saml.forceAuthnOnReauth, false);
});

t.test("a preset's rules follow the app's own; its paths unless the app names its own; modes and limits compiled", async (t) => {
  const config = await compiled(t.testdir(demoKeyFiles()), {
    mode: 'observe',
    'logout.redirectUrl': 'https://intranet.example.com/',
    'logout.suppressLoginSeconds': 30,
    'saml.maxSessionAgeSeconds': 28_800,
    'saml.forceAuthnOnReauth': true,
    'apps[0].preset': 'confluence',
    'apps[0].mode': 'enforce',
    'apps[0].rules': [{ path: '/wiki/public/', methods: ['GET'], action: 'public' }],
    'apps[0].logoutPaths': ['/custom/logout'],
    'apps[0].requiredAuthnContext': { classRefs: ['https://refeds.org/profile/mfa'] },
    'apps[0].emergencyAccess': { query: 'nosso', allowFrom: ['10.20.0.0/16'], secretHeader: { name: 'X-Break-Glass', value: 'sixteen-chars-or-more' } },
  });
  const [app] = config.apps;
  t.equal(config.mode, 'observe');
  t.equal(app?.mode, 'enforce', 'apps[].mode overrides the top-level mode');
  t.same(config.logout, { redirectUrl: 'https://intranet.example.com/', suppressLoginMs: 30_000 });
  t.equal(config.saml.maxSessionAgeMs, 28_800_000);
  t.equal(config.saml.forceAuthnOnReauth, true);
  t.same(app?.rules[0], { source: 'apps[0].rules[0]', path: '/wiki/public/', pattern: undefined, methods: ['GET'], action: 'public' });
  t.same(app?.rules.slice(1).map((rule) => rule.source), Array((app?.rules.length ?? 1) - 1).fill('preset confluence'));
  t.same(app?.loginPaths, ['/login.action'], "the preset's login page");
  t.same(app?.logoutPaths, ['/custom/logout'], "the app's own logout paths replace the preset's");
  t.same(app?.requiredAuthnContext, { classRefs: ['https://refeds.org/profile/mfa'], comparison: 'exact' });
  t.same(app?.emergencyAccess, {
    path: '/login.action',
    query: 'nosso',
    allowFrom: ['10.20.0.0/16'],
    secretHeader: { name: 'x-break-glass', value: 'sixteen-chars-or-more' },
    loginFormPaths: ['/dologin.action', '/rest/tsv/1.0/authenticate'],
  });
});

const problems: { name: string; changes: Record<string, unknown>; problems: string[] }[] = [
  { name: 'an unknown preset', changes: { 'apps[0].preset': 'jira-software' }, problems: ['apps[0].preset: must be one of "jira", "jsm", "confluence", "bitbucket", "bamboo", "fisheye"'] },
  { name: 'a rule without action', changes: { 'apps[0].rules': [{ path: '/x' }] }, problems: ['apps[0].rules[0]: missing required key "action"'] },
  { name: 'an unknown rule action', changes: { 'apps[0].rules': [{ path: '/x', action: 'allow' }] }, problems: ['apps[0].rules[0].action: must be one of "required", "optional", "public", "credentials"'] },
  { name: 'a rule pattern that does not compile', changes: { 'apps[0].rules': [{ pattern: '^/rest/(api', action: 'public' }] }, problems: ['apps[0].rules[0].pattern: not a valid regular expression (Invalid regular expression: /^/rest/(api/: Unterminated group)'] },
  { name: 'a lower-case method', changes: { 'apps[0].rules': [{ methods: ['get'], action: 'public' }] }, problems: ['apps[0].rules[0].methods[0]: must be an upper-case HTTP method, e.g. "GET"'] },
  { name: 'a rule path with a query', changes: { 'apps[0].rules': [{ path: '/x?y', action: 'public' }] }, problems: ['apps[0].rules[0].path: must be a URL path starting with "/", without query, e.g. "/login.jsp"'] },
  { name: 'emergency access without a login page to open', changes: { 'apps[0].emergencyAccess': { allowFrom: ['10.0.0.0/8'] } }, problems: ['apps[0].emergencyAccess.path: missing; without apps[].preset or apps[].loginPaths the proxy does not know the application\'s login page, e.g. "/login.jsp"'] },
  { name: 'emergency networks that are not addresses', changes: { 'apps[0].emergencyAccess': { path: '/login.jsp', allowFrom: ['admins.example.com'] } }, problems: ['apps[0].emergencyAccess.allowFrom[0]: not an IP address or CIDR range, e.g. "10.20.0.0/16"'] },
  { name: 'emergency access open to nobody', changes: { 'apps[0].emergencyAccess': { path: '/login.jsp', allowFrom: [] } }, problems: ['apps[0].emergencyAccess.allowFrom: must list at least one entry'] },
  { name: 'a short emergency secret', changes: { 'apps[0].emergencyAccess': { path: '/login.jsp', allowFrom: ['10.0.0.0/8'], secretHeader: { name: 'X-Break-Glass', value: 'short' } } }, problems: ['apps[0].emergencyAccess.secretHeader.value: must be at least 16 characters long; generate one with: openssl rand -base64 24'] },
  { name: 'an empty authn context list', changes: { 'apps[0].requiredAuthnContext': { classRefs: [] } }, problems: ['apps[0].requiredAuthnContext.classRefs: must list at least one entry'] },
  { name: 'a logout redirect that is not http', changes: { 'logout.redirectUrl': 'javascript:alert(1)' }, problems: ['logout.redirectUrl: must start with http:// or https://'] },
  { name: 'an unknown mode', changes: { mode: 'audit' }, problems: ['mode: must be one of "enforce", "observe"'] },
  { name: 'a too short session age', changes: { 'saml.maxSessionAgeSeconds': 10 }, problems: ['saml.maxSessionAgeSeconds: must be at least 60'] },
];

t.test('every problem names its key path', async (t) => {
  const dir = t.testdir(demoKeyFiles());
  for (const { name, changes, problems: expected } of problems) {
    const outcome = await loadFrom(dir, withChanges(minimalConfig(), changes));
    t.same(outcome.problems, expected, name);
  }
});
