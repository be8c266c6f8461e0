import t, { type Test } from 'tap';
import { request } from 'undici';
import { startDemoApp } from '../../../examples/demo/demo-app.js';
import { startFakeCrowd, type FakeCrowd, type FakeCrowdOptions } from '../../../examples/demo/fake-crowd.js';

const APP = 'jira';
const APP_PASSWORD = 'jira-secret';
const BASIC = `Basic ${Buffer.from(`${APP}:${APP_PASSWORD}`).toString('base64')}`;

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly json: Record<string, unknown>;
}

async function start(t: Test, options: FakeCrowdOptions = {}): Promise<FakeCrowd> {
  const fake = await startFakeCrowd({
    applications: { [APP]: { password: APP_PASSWORD, allowGenerateUserTokens: true } },
    users: [{ name: 'Alice', password: 'alice-pw', email: 'alice@example.com' }, { name: 'albert' }],
    ...options,
  });
  t.teardown(() => fake.close());
  return fake;
}

/** One raw REST call, as an Atlassian app makes it. */
async function rest(fake: FakeCrowd, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await request(`${fake.baseUrl}/rest/usermanagement/1${path}`, {
    method,
    headers: { authorization: BASIC, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.body.text();
  const isJson = String(response.headers['content-type'] ?? '').includes('json') && text !== '';
  return { status: response.statusCode, headers: response.headers, text, json: isJson ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const factors = (remoteAddress: string, forwardedFor?: string): Array<{ name: string; value: string }> => [
  { name: 'remote_address', value: remoteAddress },
  ...(forwardedFor === undefined ? [] : [{ name: 'X-Forwarded-For', value: forwardedFor }]),
];

async function createSession(fake: FakeCrowd, list: Array<{ name: string; value: string }>, username = 'alice'): Promise<string> {
  const answer = await rest(fake, 'POST', '/session?validate-password=false', { username, 'validation-factors': { validationFactors: list } });
  return String(answer.json['token']);
}

const validate = async (fake: FakeCrowd, token: string, list: Array<{ name: string; value: string }>): Promise<Answer> =>
  rest(fake, 'POST', `/session/${token}`, { validationFactors: list });

t.test('POST /session answers 201 with Location and the session entity; equal factors reuse the session', async (t) => {
  const fake = await start(t);
  const answer = await rest(fake, 'POST', '/session?validate-password=false', { username: 'ALICE', 'validation-factors': { validationFactors: factors('10.0.0.5') } });
  t.equal(answer.status, 201);
  const token = String(answer.json['token']);
  t.match(token, /^[A-Za-z0-9]{24}$/);
  t.equal(answer.headers['location'], `${fake.baseUrl}/rest/usermanagement/1/session/${token}`);
  t.match(answer.json, { user: { name: 'Alice' }, 'created-date': Number, 'expiry-date': Number });
  t.equal(await createSession(fake, factors('10.0.0.5')), token, 'same user and factors: same token');
  t.not(await createSession(fake, factors('10.0.0.6')), token, 'other factors: new token');
});

t.test('password check, inactive account and "Allow to generate user tokens"', async (t) => {
  const fake = await start(t);
  const withPassword = (password: string): Promise<Answer> => rest(fake, 'POST', '/session', { username: 'alice', password });
  t.equal((await withPassword('alice-pw')).status, 201);
  t.match(await withPassword('wrong'), { status: 400, json: { reason: 'INVALID_USER_AUTHENTICATION' } });
  t.match(await rest(fake, 'POST', '/session?validate-password=false', { username: 'nobody' }), { status: 404, json: { reason: 'USER_NOT_FOUND' } });
  fake.setUserActive('alice', false);
  t.match(await withPassword('alice-pw'), { status: 400, json: { reason: 'INACTIVE_ACCOUNT' } });
  fake.addApplication(APP, { password: APP_PASSWORD });
  t.match(await rest(fake, 'POST', '/session?validate-password=false', { username: 'albert' }), {
    status: 403,
    json: { reason: 'APPLICATION_PERMISSION_DENIED' },
  });
});

t.test('bad application credentials: 401 plain text; refused address: 403 HTML; no JSON Accept: 406', async (t) => {
  const fake = await start(t);
  const wrong = await rest(fake, 'GET', '/config/cookie', undefined, { authorization: `Basic ${Buffer.from(`${APP}:nope`).toString('base64')}` });
  t.match(wrong, { status: 401, text: 'Application failed to authenticate' });
  t.match(String(wrong.headers['content-type']), /^text\/plain/);
  t.equal(fake.calls.at(-1)?.application, undefined);

  const xml = await rest(fake, 'GET', '/config/cookie', undefined, { accept: 'application/xml' });
  t.equal(xml.status, 406);

  fake.addApplication(APP, { password: APP_PASSWORD, remoteAddresses: ['192.0.2.0/24'] });
  const refused = await rest(fake, 'GET', '/config/cookie');
  t.equal(refused.status, 403);
  t.match(refused.text, 'The server understood the request but refuses to authorize it.');
  t.match(String(refused.headers['content-type']), /^text\/html/);
});

t.test('validation: 404 for unknown tokens, extends expiry, GET reads without factors, DELETE is global', async (t) => {
  const clock = { ms: 1_000_000 };
  const fake = await start(t, { now: () => clock.ms, sessionTimeoutMs: 60_000 });
  t.match(await validate(fake, 'Unknown', factors('10.0.0.5')), { status: 404, json: { reason: 'INVALID_SSO_TOKEN' } });
  const token = await createSession(fake, factors('10.0.0.5'));
  clock.ms += 30_000;
  t.match(await validate(fake, token, factors('203.0.113.1')), { status: 200, json: { token, 'expiry-date': clock.ms + 60_000 } }, 'IP not compared');
  t.match(await rest(fake, 'GET', `/session/${token}`), { status: 200, json: { user: { name: 'Alice' } } });
  t.equal((await rest(fake, 'DELETE', `/session/${token}`)).status, 204);
  t.equal((await validate(fake, token, factors('10.0.0.5'))).status, 404);

  const kept = await createSession(fake, factors('10.0.0.1'));
  const dropped = await createSession(fake, factors('10.0.0.2'));
  t.equal((await rest(fake, 'DELETE', `/session?username=ALICE&exclude=${kept}`)).status, 204);
  t.equal((await validate(fake, kept, factors('10.0.0.1'))).status, 200);
  t.equal((await validate(fake, dropped, factors('10.0.0.2'))).status, 404);
  t.ok(fake.sessions.has(kept));

  clock.ms += 60_001;
  t.equal((await validate(fake, kept, factors('10.0.0.1'))).status, 404, 'expired after the inactivity timeout');
});

t.test('consistent client IP: the proxy is a trusted proxy', async (t) => {
  const fake = await start(t, { consistentClientIp: true, trustedProxies: ['10.0.0.5'] });
  const token = await createSession(fake, factors('10.0.0.5', '198.51.100.7'));
  t.equal((await validate(fake, token, factors('198.51.100.7'))).status, 200, 'resolves to the client either way');
  t.equal((await validate(fake, token, factors('10.0.0.5', '198.51.100.7'))).status, 200);
  t.match(await validate(fake, token, factors('10.0.0.5', '203.0.113.1')), { status: 400, json: { reason: 'INVALID_SSO_TOKEN' } });
  t.equal(
    (await validate(fake, token, factors('10.0.0.5', '203.0.113.1, 198.51.100.7'))).status,
    400,
    'a browser-sent entry before an untrusted hop: the direct address is the client',
  );
});

t.test('consistent client IP: the proxy is not trusted, every user shares its address', async (t) => {
  const fake = await start(t, { consistentClientIp: true });
  const token = await createSession(fake, factors('10.0.0.5', '198.51.100.7'));
  t.equal((await validate(fake, token, factors('10.0.0.5', '203.0.113.1'))).status, 200);
  t.equal((await validate(fake, token, factors('198.51.100.7'))).status, 400);
  fake.invalidateAllSessions();
  t.equal((await validate(fake, token, factors('10.0.0.5', '198.51.100.7'))).status, 404);
});

t.test('users, search, groups and memberships', async (t) => {
  const fake = await start(t);
  t.match(await rest(fake, 'GET', '/user?username=ALICE'), { status: 200, json: { name: 'Alice', email: 'alice@example.com', active: true } });
  t.match(await rest(fake, 'GET', '/user?username=nobody'), { status: 404, json: { reason: 'USER_NOT_FOUND' } });
  const created = await rest(fake, 'POST', '/user', { name: 'carol', password: { value: 'pw' }, active: true, email: 'carol@example.com' });
  t.equal(created.status, 201);
  t.equal(created.headers['location'], `${fake.baseUrl}/rest/usermanagement/1/user?username=carol`);
  t.match(await rest(fake, 'POST', '/user', { name: 'Carol', password: { value: 'pw' } }), { status: 400, json: { reason: 'INVALID_USER' } });
  for (const name of ['x'.repeat(256), ' dora', 'dora ']) {
    t.match(await rest(fake, 'POST', '/user', { name, password: { value: 'pw' } }), { status: 400, json: { reason: 'INVALID_USER' } }, `invalid name "${name.slice(0, 8)}"`);
  }

  const search = async (cql: string): Promise<unknown> =>
    ((await rest(fake, 'GET', `/search?entity-type=user&restriction=${encodeURIComponent(cql)}`)).json['users'] as Array<{ name: string }>).map((u) => u.name);
  t.same(await search('email=ALICE@example.com'), ['Alice']);
  t.same(await search('name=al*'), ['Alice', 'albert']);
  t.same(await search('email="carol@example.com"'), ['carol']);
  t.match(await rest(fake, 'GET', '/search?entity-type=user&restriction=active%3Dtrue'), { status: 400, json: { reason: 'ILLEGAL_ARGUMENT' } });

  t.equal((await rest(fake, 'POST', '/group', { name: 'jira-users', description: '', type: 'GROUP', active: true })).status, 201);
  t.match(await rest(fake, 'POST', '/group', { name: 'JIRA-users' }), { status: 400, json: { reason: 'INVALID_GROUP' } });
  t.equal((await rest(fake, 'POST', '/user/group/direct?username=alice', { name: 'jira-users' })).status, 201);
  t.match(await rest(fake, 'POST', '/user/group/direct?username=alice', { name: 'jira-users' }), { status: 409, json: { reason: 'MEMBERSHIP_ALREADY_EXISTS' } });
  t.match(await rest(fake, 'POST', '/user/group/direct?username=alice', { name: 'missing' }), { status: 400, json: { reason: 'GROUP_NOT_FOUND' } });
  t.match(await rest(fake, 'GET', '/user/group/nested?username=alice'), { status: 200, json: { groups: [{ name: 'jira-users' }] } });
  t.equal((await rest(fake, 'DELETE', '/user/group/direct?username=alice&groupname=jira-users')).status, 204);
  t.match(await rest(fake, 'DELETE', '/user/group/direct?username=alice&groupname=jira-users'), { status: 404, json: { reason: 'MEMBERSHIP_NOT_FOUND' } });
  t.same((await rest(fake, 'GET', '/user/group/direct?username=nobody')).json, { groups: [] });
  t.equal(fake.countCalls('POST', '/user/group/direct'), 3);
});

t.test('latency delays answers but they still arrive', async (t) => {
  const fake = await start(t, { latencyMs: 20 });
  t.equal((await rest(fake, 'GET', '/config/cookie')).status, 200);
});

t.test('the demo app validates the cookie like Jira and logs out globally', async (t) => {
  const fake = await start(t, { cookieConfig: { name: 'crowd.token_key', domain: '', secure: false } });
  const app = await startDemoApp({ title: 'Jira (demo)', crowdBaseUrl: fake.baseUrl, applicationName: APP, applicationPassword: APP_PASSWORD });
  t.teardown(() => app.close());
  // The demo app sees the test as its TCP peer (127.0.0.1) and no X-Forwarded-For.
  const token = await createSession(fake, factors('127.0.0.1'));
  const get = async (path: string, cookie?: string): Promise<Answer> => {
    const response = await request(`${app.url}${path}`, { headers: cookie === undefined ? {} : { cookie } });
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, text, json: {} };
  };

  const anonymous = await get('/browse/PROJ-1?a=1&b=2');
  t.match(anonymous.text, 'Not logged in');
  t.match(anonymous.text, 'href="/login.jsp"');
  t.match(anonymous.text, '<code>/browse/PROJ-1?a=1&#38;b=2</code>', 'the echoed path is escaped');

  const page = await get('/secure/Dashboard.jspa', `crowd.token_key=; crowd.token_key=${token}; crowd.token_key=stale`);
  t.match(page.text, 'Logged in as <b>Alice</b>', 'the first non-empty cookie wins');
  t.equal(page.headers['set-cookie'], `crowd.token_key=${token}; Path=/; HttpOnly`);
  t.equal((await request(`${app.url}/rest/api/whoami`, { headers: { cookie: `crowd.token_key=${token}` } })).statusCode, 200);

  const logout = await get('/secure/Logout!default.jspa', `crowd.token_key=${token}`);
  t.equal(logout.headers['set-cookie'], 'crowd.token_key=; Path=/; HttpOnly; Max-Age=0');
  t.notOk(fake.sessions.has(token), 'the Crowd session is gone');
  const whoami = await request(`${app.url}/rest/api/whoami`, { headers: { cookie: `crowd.token_key=${token}` } });
  t.equal(whoami.statusCode, 401);
  t.same(await whoami.body.json(), { user: null, error: 'Not logged in' });
});
