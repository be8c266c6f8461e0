/** Per-app access policy: each preset's key paths, rule matching, and the decision for every rule action and session state. */
import t from 'tap';
import { compileAppRules } from '../../../src/config/compile-app-rules.js';
import type { AppPresetName } from '../../../src/config/runtime-config.js';
import { createAppPolicy, type AppPolicy, type PathKind, type RequestFacts } from '../../../src/policy/app-policy.js';
import { testAppConfig } from '../../support/app-config.js';

function policyFor(access: Parameters<typeof compileAppRules>[0], options: { forceAuthnOnReauth?: boolean; network?: (ip: string) => boolean } = {}): AppPolicy {
  const app = testAppConfig({
    name: 'app',
    hosts: ['app.example.com'],
    upstream: new URL('http://127.0.0.1:1'),
    ...compileAppRules(access, 0, { mode: 'enforce', comparison: 'exact' }, 'a-secret-of-sixteen-chars'),
  });
  return createAppPolicy(app, {
    maxSessionAgeMs: undefined,
    requireSsoSession: false,
    forceAuthnOnReauth: options.forceAuthnOnReauth ?? false,
    ...(options.network === undefined ? {} : { isEmergencyNetwork: options.network }),
  });
}

const PRESET_PATHS: Readonly<Record<AppPresetName, readonly (readonly [string, string, PathKind])[]>> = {
  jira: [
    ['GET', '/login.jsp', 'login-page'],
    ['POST', '/login.jsp', 'required'],
    ['GET', '/secure/Logout!default.jspa', 'logout'],
    ['POST', '/secure/Logout.jspa', 'logout'],
    ['GET', '/status', 'public'],
    ['GET', '/s/d41d8cd9/_/download/batch/x.css', 'public'],
    ['GET', '/rest/api/2/issue/DEMO-1', 'credentials'],
    ['GET', '/rest/agile/1.0/board', 'credentials'],
    ['POST', '/plugins/servlet/oauth/request-token', 'credentials'],
    ['GET', '/rest/applinks/1.0/manifest', 'public'],
    ['GET', '/browse/DEMO-1', 'required'],
    ['GET', '/secure/Dashboard.jspa', 'required'],
    ['GET', '/servicedesk/customer/portals', 'required'],
  ],
  jsm: [
    ['GET', '/servicedesk/customer/portals', 'optional'],
    ['POST', '/servicedesk/customer/user/login', 'optional'],
    ['POST', '/rest/servicedesk/1/customer/models', 'optional'],
    ['GET', '/servicedesk/customer/user/logout', 'logout'],
    ['GET', '/login.jsp', 'login-page'],
    ['GET', '/rest/api/2/issue/SD-1', 'credentials'],
    ['GET', '/browse/SD-1', 'required'],
  ],
  confluence: [
    ['GET', '/login.action', 'login-page'],
    ['POST', '/dologin.action', 'required'],
    ['GET', '/logout.action', 'logout'],
    ['GET', '/status', 'public'],
    ['GET', '/rest/api/content', 'credentials'],
    ['GET', '/display/DEMO/Welcome', 'required'],
  ],
  bitbucket: [
    ['GET', '/login', 'login-page'],
    ['GET', '/j_atl_security_logout', 'logout'],
    ['GET', '/scm/proj/repo.git/info/refs', 'credentials'],
    ['GET', '/status', 'public'],
    ['GET', '/rest/api/1.0/projects', 'credentials'],
    ['GET', '/projects/PROJ/repos/repo/browse', 'required'],
  ],
  bamboo: [
    ['GET', '/userlogin.action', 'login-page'],
    ['GET', '/userLogout.action', 'logout'],
    ['GET', '/rest/api/latest/status', 'public'],
    ['GET', '/agentServer/message', 'public'],
    ['GET', '/rest/api/latest/plan', 'credentials'],
    ['GET', '/browse/PLAN-1', 'required'],
  ],
  fisheye: [
    ['GET', '/login', 'login-page'],
    ['GET', '/logout', 'logout'],
    ['GET', '/rest-service/reviews-v1', 'credentials'],
    ['GET', '/rest-service-fe/repositories-v1', 'credentials'],
    ['GET', '/browse/repo', 'required'],
  ],
};

t.test("each preset's known paths", async (t) => {
  for (const [preset, paths] of Object.entries(PRESET_PATHS) as [AppPresetName, (typeof PRESET_PATHS)[AppPresetName]][]) {
    const policy = policyFor({ preset });
    for (const [method, path, kind] of paths) t.equal(policy.match(method, path, '').kind, kind, `${preset}: ${method} ${path}`);
  }
});

t.test('rules: first match wins, own rules before the preset, prefixes on segment boundaries, patterns, methods', async (t) => {
  const policy = policyFor({
    preset: 'jira',
    rules: [
      { path: '/rest/api/2/serverInfo', action: 'public' },
      { path: '/anon', action: 'optional' },
      { pattern: '^/api/v[0-9]+/', action: 'credentials' },
      { path: '/reports/', methods: ['GET', 'HEAD'], action: 'public' },
      { path: '/rest/', action: 'required' },
    ],
  });
  const cases: [string, string, PathKind, string][] = [
    ['GET', '/rest/api/2/serverInfo', 'public', 'apps[0].rules[0]'],
    ['GET', '/rest/api/2/issue/X-1', 'required', 'apps[0].rules[4]'],
    ['GET', '/anon', 'optional', 'apps[0].rules[1]'],
    ['GET', '/anon/page', 'optional', 'apps[0].rules[1]'],
    ['GET', '/anonymous', 'required', 'default'],
    ['GET', '/api/v2/thing', 'credentials', 'apps[0].rules[2]'],
    ['GET', '/api/vx/thing', 'required', 'default'],
    ['GET', '/reports/1', 'public', 'apps[0].rules[3]'],
    ['POST', '/reports/1', 'required', 'default'],
    ['GET', '/reports', 'required', 'default'],
    ['GET', '/status', 'public', 'preset jira'],
  ];
  for (const [method, path, kind, source] of cases) t.same(policy.match(method, path, ''), { kind, source }, `${method} ${path}`);
});

t.test('paths an app server would resolve elsewhere never match a rule that loosens access', async (t) => {
  const policy = policyFor({ preset: 'jira', rules: [{ path: '/anon/', action: 'optional' }] });
  for (const path of ['/s/../secure/Admin.jspa', '/s/%2e%2e/secure/Admin.jspa', '/anon/..;/secure/x', '/anon//x', '/status;jsessionid=1', '/s/..%2fsecure', '/anon/x\\..\\y', '/logout.action/..']) {
    t.same(policy.match('GET', path, ''), { kind: 'required', source: 'ambiguous path' }, path);
  }
});

const base: RequestFacts = {
  match: { kind: 'required', source: 'default' },
  navigation: true,
  hasCredentials: false,
  emergencyAllowed: false,
  session: 'none',
  signedOut: false,
  hasCrowdCookie: false,
};

t.test('decisions for every action and session state', async (t) => {
  const policy = policyFor({ preset: 'jira' }, { forceAuthnOnReauth: true });
  const decide = (changes: Partial<RequestFacts>): string => {
    const decision = policy.decide({ ...base, ...changes });
    return `${decision.kind}/${decision.why}${decision.forceAuthn ? '/force' : ''}`;
  };
  const kind = (k: PathKind): RequestFacts['match'] => ({ kind: k, source: 'test' });
  t.equal(decide({ session: 'valid' }), 'forward/session');
  t.equal(decide({}), 'login/no-session');
  t.equal(decide({ navigation: false }), 'deny-401/no-session', 'XHR, API and non-GET requests never get a redirect');
  t.equal(decide({ session: 'expired' }), 'login/session-ended/force');
  t.equal(decide({ session: 'too-old' }), 'login/session-too-old/force');
  t.equal(decide({ session: 'weak' }), 'login/step-up', 'step-up does not force re-authentication, it asks for the context');
  t.equal(decide({ session: 'expired', navigation: false }), 'deny-401/session-ended');
  t.equal(decide({ session: 'weak', navigation: false }), 'deny-401/step-up');
  t.equal(decide({ signedOut: true, match: kind('login-page') }), 'signed-out/after-logout', "right after logout, the app's own login page (its post-logout landing): no automatic sign-in");
  t.equal(decide({ signedOut: true }), 'login/no-session', 'right after logout, any other page (a deep link, a bookmark) signs in');
  t.equal(decide({ match: kind('login-page') }), 'login/no-session');
  t.equal(decide({ match: kind('public') }), 'forward-anonymous/public');
  t.equal(decide({ match: kind('public'), navigation: false }), 'forward-anonymous/public');
  t.equal(decide({ match: kind('optional') }), 'forward-anonymous/optional');
  t.equal(decide({ match: kind('optional'), session: 'expired' }), 'forward-anonymous/optional', 'an ended session is anonymous in an optional area');
  t.equal(decide({ match: kind('optional'), session: 'valid' }), 'forward/session');
  t.equal(decide({ match: kind('credentials'), hasCredentials: true }), 'forward-anonymous/credentials');
  t.equal(decide({ match: kind('credentials'), navigation: false }), 'deny-401/no-session');
  t.equal(decide({ match: kind('credentials'), session: 'valid' }), 'forward/session');
  t.equal(decide({ match: kind('logout'), hasCrowdCookie: true }), 'logout/logout');
  t.equal(decide({ match: kind('logout') }), 'forward-anonymous/logout-without-session');
  t.equal(decide({ match: kind('emergency-page'), emergencyAllowed: true }), 'emergency/emergency');
  t.equal(decide({ match: kind('emergency-page') }), 'deny-403/emergency-refused');
  t.notOk(policy.needsSession(kind('public'), false), 'public paths cost no Crowd call');
  t.notOk(policy.needsSession(kind('credentials'), true), 'nor do requests with their own credentials');
  t.ok(policy.needsSession(kind('credentials'), false));
});

t.test('emergency access: the page (with its switch), login form posts only when allowed, network and secret', async (t) => {
  const policy = policyFor(
    { preset: 'jira', emergencyAccess: { query: 'nosso', allowFrom: ['10.0.0.0/8'], secretHeader: { name: 'X-Break-Glass', value: 'ignored' } } },
    { network: (ip) => ip.startsWith('10.') },
  );
  t.equal(policy.match('GET', '/login.jsp', 'nosso').kind, 'emergency-page');
  t.equal(policy.match('GET', '/login.jsp', 'os_destination=%2F&nosso=1').kind, 'emergency-page');
  t.equal(policy.match('GET', '/login.jsp', 'nossox').kind, 'login-page', 'without the switch: the ordinary login page');
  t.equal(policy.match('POST', '/login.jsp', '').kind, 'emergency-form');
  t.equal(policy.match('POST', '/rest/tsv/1.0/authenticate', '').kind, 'emergency-form', 'the two-step login form too');
  t.equal(policy.settle(policy.match('POST', '/login.jsp', ''), 'POST', '/login.jsp', false).kind, 'required', 'not allowed: an ordinary request');
  t.equal(
    policy.settle(policy.match('POST', '/rest/tsv/1.0/authenticate', ''), 'POST', '/rest/tsv/1.0/authenticate', false).kind,
    'required',
    'not allowed: a password login, never a credentials path (it would mint a Crowd session without the IdP)',
  );
  const emergency = policy.emergency;
  t.ok(emergency?.allows('10.1.2.3', 'a-secret-of-sixteen-chars'));
  t.notOk(emergency?.allows('192.0.2.1', 'a-secret-of-sixteen-chars'), 'another network');
  t.notOk(emergency?.allows('10.1.2.3', undefined), 'no secret');
  t.notOk(emergency?.allows('10.1.2.3', 'a-secret-of-sixteen-charz'), 'wrong secret');
  t.equal(emergency?.secretHeaderName, 'x-break-glass');
});
