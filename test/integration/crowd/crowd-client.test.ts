import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { crowdConfig as sharedCrowdConfig } from '../../support/crowd-config.js';
import { startScriptedCrowd } from '../../support/scripted-crowd.js';
import type { CrowdConfig } from '../../../src/config/runtime-config.js';
import { createCrowdClient, type CrowdClient } from '../../../src/crowd/crowd-client.js';
import {
  AccessDeniedError,
  CrowdRejectedError,
  CrowdUnavailableError,
  IdentityNotFoundError,
  SsoProxyError,
} from '../../../src/errors.js';
import type { CrowdPort } from '../../../src/flows/ports.js';
import { startFakeCrowd, type FakeCrowd, type FakeCrowdOptions } from '../../../examples/demo/fake-crowd.js';

const APP = 'sso-proxy';
const APP_PASSWORD = 'proxy-secret-9f2c';
const FACTORS = [{ name: 'remote_address', value: '198.51.100.7' }];

function crowdConfig(baseUrl: string, overrides: Partial<CrowdConfig> = {}): CrowdConfig {
  return sharedCrowdConfig(baseUrl, { name: APP, password: APP_PASSWORD }, overrides);
}

interface Setup {
  readonly fake: FakeCrowd;
  readonly client: CrowdClient;
  readonly clock: { ms: number };
}

async function setup(t: Test, options: FakeCrowdOptions = {}, overrides: Partial<CrowdConfig> = {}): Promise<Setup> {
  const clock = { ms: 1_700_000_000_000 };
  const fake = await startFakeCrowd({
    now: () => clock.ms,
    applications: { [APP]: { password: APP_PASSWORD, allowGenerateUserTokens: true } },
    users: [
      { name: 'Alice', email: 'Alice@Example.com', groups: ['jira-users'] },
      { name: 'bob', email: 'bob@example.com', active: false },
    ],
    ...options,
  });
  // The flows use the client through CrowdPort: the compiler checks that it fits.
  const client = createCrowdClient(crowdConfig(fake.baseUrl, overrides), { now: () => clock.ms }) satisfies CrowdPort;
  t.teardown(async () => {
    await client.close();
    await fake.close();
  });
  return { fake, client, clock };
}

function scriptedClient(t: Test, baseUrl: string): CrowdClient {
  const client = createCrowdClient(crowdConfig(baseUrl));
  t.teardown(() => client.close());
  return client;
}

t.test('creates a session without password and validates it with the same factors', async (t) => {
  const { fake, client, clock } = await setup(t);
  const session = await client.createSession('alice', FACTORS);
  t.equal(session.username, 'Alice', 'Crowd stores the name with its case');
  t.equal(session.token.length, 24);
  t.equal(session.createdAtMs, clock.ms);
  clock.ms += 1_000;
  const validated = await client.validateSession(session.token, FACTORS);
  t.same(validated, { ...session, expiresAtMs: clock.ms + 30 * 60_000 }, 'validation extends the inactivity timeout');
  t.same(
    fake.calls.map((call) => [call.method, call.path, call.application]),
    [
      ['POST', '/session?validate-password=false', APP],
      ['POST', `/session/${session.token}`, APP],
    ],
  );
});

t.test('asks Crowd for a shorter session when durationSeconds is given', async (t) => {
  const { fake, client, clock } = await setup(t);
  const session = await client.createSession('Alice', FACTORS, 60);
  t.equal(session.expiresAtMs, clock.ms + 60_000);
  t.equal(fake.countCalls('POST', '/session?validate-password=false&duration=60'), 1);
});

t.test('an unknown, expired or logged-out token is simply not valid', async (t) => {
  const { fake, client, clock } = await setup(t, { sessionTimeoutMs: 10_000 });
  t.equal(await client.validateSession('NoSuchToken0000000000000', FACTORS), null, 'unknown');
  t.equal(await client.validateSession('a/b?c d', FACTORS), null, 'odd characters');
  t.equal(fake.countCalls('POST', '/session/a%2Fb%3Fc%20d'), 1, 'the token is URL-encoded in the path');

  const expiring = await client.createSession('Alice', FACTORS);
  clock.ms += 10_001;
  t.equal(await client.validateSession(expiring.token, FACTORS), null, 'expired');

  const session = await client.createSession('Alice', FACTORS);
  await client.invalidateSession(session.token);
  t.equal(await client.validateSession(session.token, FACTORS), null, 'after logout');
  await client.invalidateSession(session.token);
  t.pass('logging out twice is not an error');
});

t.test('a cookie of a user deactivated since login is no longer valid', async (t) => {
  const { fake, client } = await setup(t);
  const session = await client.createSession('Alice', FACTORS);
  fake.setUserActive('alice', false);
  t.equal(await client.validateSession(session.token, FACTORS), null);
});

t.test('with consistent client IP on, other factors get null (400 INVALID_SSO_TOKEN)', async (t) => {
  const { client } = await setup(t, { consistentClientIp: true });
  const session = await client.createSession('Alice', FACTORS);
  t.equal(await client.validateSession(session.token, [{ name: 'remote_address', value: '203.0.113.9' }]), null);
  t.ok(await client.validateSession(session.token, FACTORS), 'same factors still valid');
});

t.test('a deactivated account gets AccessDeniedError INACTIVE_ACCOUNT with words for the user', async (t) => {
  const { client } = await setup(t);
  const error = await client.createSession('bob', FACTORS).catch((e: unknown) => e);
  t.type(error, AccessDeniedError);
  t.equal((error as AccessDeniedError).detail, 'INACTIVE_ACCOUNT');
  t.match((error as AccessDeniedError).publicMessage, /deactivated/);
});

t.test('a user the proxy application may not authenticate gets AccessDeniedError', async (t) => {
  const { fake, client } = await setup(t);
  fake.addApplication(APP, { password: APP_PASSWORD, allowGenerateUserTokens: true, allowedGroups: ['confluence-users'] });
  const error = await client.createSession('Alice', FACTORS).catch((e: unknown) => e);
  t.type(error, AccessDeniedError);
  t.equal((error as AccessDeniedError).detail, 'APPLICATION_ACCESS_DENIED');
});

t.test('an unknown user gets IdentityNotFoundError', async (t) => {
  const { client } = await setup(t);
  const error = await client.createSession('nobody', FACTORS).catch((e: unknown) => e);
  t.type(error, IdentityNotFoundError);
  t.equal((error as IdentityNotFoundError).detail, 'USER_NOT_FOUND');

  const baseUrl = await startScriptedCrowd(t, 400, 'application/json', '{"reason":"INVALID_USER_AUTHENTICATION","message":"Failed"}');
  const viaPasswordCheck = await scriptedClient(t, baseUrl).createSession('nobody', FACTORS).catch((e: unknown) => e);
  t.type(viaPasswordCheck, IdentityNotFoundError);
  t.equal((viaPasswordCheck as IdentityNotFoundError).detail, 'INVALID_USER_AUTHENTICATION');
});

t.test('"Allow to generate user tokens" switched off is named in the error', async (t) => {
  const { fake, client } = await setup(t);
  fake.addApplication(APP, { password: APP_PASSWORD, allowGenerateUserTokens: false });
  const error = await client.createSession('Alice', FACTORS).catch((e: unknown) => e);
  t.type(error, CrowdRejectedError);
  t.match((error as Error).message, /Allow to generate user tokens/);
});

t.test('wrong application credentials name the config keys and never the password', async (t) => {
  const { fake, client } = await setup(t);
  fake.addApplication(APP, { password: 'rotated-in-crowd', allowGenerateUserTokens: true });
  const error = await client.validateSession('SomeToken', FACTORS).catch((e: unknown) => e);
  t.type(error, CrowdRejectedError);
  t.match((error as Error).message, /crowd\.applicationName/);
  t.match((error as Error).message, /crowd\.applicationPassword/);
  t.notMatch((error as Error).message, APP_PASSWORD);
  t.notMatch((error as Error).message, 'SomeToken');
});

t.test('a refused proxy address tells the admin to add it to the remote addresses', async (t) => {
  const { fake, client } = await setup(t);
  fake.addApplication(APP, { password: APP_PASSWORD, allowGenerateUserTokens: true, remoteAddresses: ['10.9.9.9'] });
  const error = await client.getCookieConfig().catch((e: unknown) => e);
  t.type(error, CrowdRejectedError);
  t.match((error as Error).message, /Remote addresses/);

  fake.addApplication(APP, { password: APP_PASSWORD, allowGenerateUserTokens: true, remoteAddresses: ['127.0.0.0/8'] });
  t.ok(await client.getCookieConfig(), 'allowed once the address is listed');
});

t.test('a hanging Crowd gives CrowdUnavailableError within timeoutMs', async (t) => {
  const { fake, client } = await setup(t, { hang: true }, { timeoutMs: 300 });
  const error = await client.validateSession('SomeToken', FACTORS).catch((e: unknown) => e);
  t.type(error, CrowdUnavailableError);
  t.match((error as Error).message, /crowd\.timeoutMs \(300 ms\)/);
  t.equal(fake.countCalls('POST', '/session/'), 1, 'the request reached Crowd');
});

t.test('a Crowd that drips its answer gives CrowdUnavailableError once timeoutMs has passed, not when the body ends', async (t) => {
  // Each byte comes well within the 300 ms between chunks that undici's own body timeout allows; the whole takes 3 s.
  const body = JSON.stringify({ token: 'Tok', user: { name: 'alice' } }).padEnd(30, ' ');
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
    let sent = 0;
    const drip = setInterval(() => {
      if (res.destroyed || sent === body.length) {
        clearInterval(drip);
        res.end();
        return;
      }
      res.write(body[sent++]);
    }, 100);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const client = createCrowdClient(crowdConfig(`http://127.0.0.1:${(server.address() as AddressInfo).port}/crowd`, { timeoutMs: 300 }));
  t.teardown(() => client.close());
  const error = await client.validateSession('SomeToken', FACTORS).catch((e: unknown) => e);
  t.type(error, CrowdUnavailableError);
  t.equal((error as SsoProxyError).detail, 'timeout');
  t.match((error as Error).message, /crowd\.timeoutMs \(300 ms\)/);
});

t.test('a byte order mark before the JSON is not part of it', async (t) => {
  const body = `\uFEFF${JSON.stringify({ token: 'Tok', user: { name: 'alice' } })}`;
  const client = scriptedClient(t, await startScriptedCrowd(t, 200, 'application/json', body));
  t.same(await client.validateSession('Tok', FACTORS), { token: 'Tok', username: 'alice', createdAtMs: undefined, expiresAtMs: undefined });
});

t.test('Crowd down (nothing listening) gives CrowdUnavailableError', async (t) => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const client = scriptedClient(t, `http://127.0.0.1:${port}/crowd`);
  const error = await client.createSession('Alice', FACTORS).catch((e: unknown) => e);
  t.type(error, CrowdUnavailableError);
  t.match((error as Error).message, /ECONNREFUSED/);
});

t.test('replies the fake never gives are translated once, by status and reason', async (t) => {
  const cases: Array<{ name: string; status: number; type: string; body: string; error: typeof SsoProxyError; detail: string }> = [
    { name: '5xx from a broken directory', status: 500, type: 'application/json', body: '{"reason":"OPERATION_FAILED","message":"LDAP down"}', error: CrowdUnavailableError, detail: 'HTTP 500 OPERATION_FAILED' },
    { name: 'broken JSON error page', status: 502, type: 'application/json', body: '<html>', error: CrowdUnavailableError, detail: 'HTTP 502 (no reason)' },
    { name: 'gateway error page', status: 503, type: 'text/html', body: '<html>busy</html>', error: CrowdUnavailableError, detail: 'HTTP 503 (no reason)' },
    { name: 'wrong context path (404 HTML)', status: 404, type: 'text/html', body: '<html>Not Found</html>', error: CrowdRejectedError, detail: 'HTTP 404 (no reason)' },
    { name: 'unexpected reason', status: 400, type: 'application/json', body: '{"reason":"ILLEGAL_ARGUMENT","message":"bad"}', error: CrowdRejectedError, detail: 'HTTP 400 ILLEGAL_ARGUMENT' },
    { name: 'invalid JSON', status: 200, type: 'application/json', body: '{"token":', error: CrowdRejectedError, detail: 'HTTP 200 invalid_json' },
    { name: 'session without user', status: 200, type: 'application/json', body: '{"token":"abc"}', error: CrowdRejectedError, detail: 'HTTP 200 malformed_entity' },
  ];
  for (const c of cases) {
    const client = scriptedClient(t, await startScriptedCrowd(t, c.status, c.type, c.body));
    const error = await client.validateSession('SomeToken', FACTORS).catch((e: unknown) => e);
    t.type(error, c.error, c.name);
    t.equal((error as SsoProxyError).detail, c.detail, c.name);
  }
});

t.test('403 with a JSON APPLICATION_ACCESS_DENIED on validation is an access denial', async (t) => {
  const body = '{"reason":"APPLICATION_ACCESS_DENIED","message":"User does not have access"}';
  const client = scriptedClient(t, await startScriptedCrowd(t, 403, 'application/json', body));
  const error = await client.validateSession('SomeToken', FACTORS).catch((e: unknown) => e);
  t.type(error, AccessDeniedError);
});

t.test('tokens echoed by Crowd never reach the error message', async (t) => {
  const body = '{"reason":"ILLEGAL_ARGUMENT","message":"Token [SecretToken123] is malformed"}';
  const client = scriptedClient(t, await startScriptedCrowd(t, 400, 'application/json', body));
  const error = await client.validateSession('SecretToken123', FACTORS).catch((e: unknown) => e);
  t.type(error, CrowdRejectedError);
  t.notMatch((error as Error).message, 'SecretToken123');
  t.match((error as Error).message, /\[redacted\]/);
});

t.test('reads both spellings of the session dates', async (t) => {
  const body = JSON.stringify({ token: 'Tok', user: { name: 'alice' }, createdDate: 1464453000000, expiryDate: '1464454800000' });
  const client = scriptedClient(t, await startScriptedCrowd(t, 200, 'application/json;charset=UTF-8', body));
  t.same(await client.validateSession('Tok', FACTORS), { token: 'Tok', username: 'alice', createdAtMs: 1464453000000, expiresAtMs: 1464454800000 });
});

t.test('cookie config is cached for cookieConfigTtlMs, shared by concurrent callers', async (t) => {
  const { fake, client, clock } = await setup(t, { cookieConfig: { name: 'crowd.token_key', domain: '.example.com', secure: true } });
  const answers = await Promise.all([client.getCookieConfig(), client.getCookieConfig(), client.getCookieConfig()]);
  for (const answer of answers) t.same(answer, { name: 'crowd.token_key', domain: 'example.com', secure: true });
  clock.ms += 59_999;
  await client.getCookieConfig();
  t.equal(fake.countCalls('GET', '/config/cookie'), 1);
  clock.ms += 1;
  fake.settings.cookieConfig = { name: 'sso.token', domain: 'localhost', secure: false };
  t.same(await client.getCookieConfig(), { name: 'sso.token', domain: undefined, secure: false }, 'localhost means host-only');
  t.equal(fake.countCalls('GET', '/config/cookie'), 2);
});

t.test('crowd.cookie overrides win over what Crowd says', async (t) => {
  const { client } = await setup(
    t,
    { cookieConfig: { name: 'crowd.token_key', domain: 'example.com', secure: false } },
    { cookie: { name: 'my.token', domain: '.apps.example.com', secure: true } },
  );
  t.same(await client.getCookieConfig(), { name: 'my.token', domain: 'apps.example.com', secure: true });
});

t.test('an empty SSO domain means a host-only cookie', async (t) => {
  const { client } = await setup(t, { cookieConfig: { name: '', domain: '', secure: false } });
  t.same(await client.getCookieConfig(), { name: 'crowd.token_key', domain: undefined, secure: false });
});

t.test('users: read, create, update, search by email', async (t) => {
  const { client } = await setup(t);
  t.equal(await client.getUser('nobody'), null);
  t.same(await client.getUser('ALICE'), { name: 'Alice', active: true, email: 'Alice@Example.com', firstName: '', lastName: '', displayName: 'Alice' });

  const password = 'Rnd-9c1d7e-long-random-password';
  await client.createUser({ name: 'carol', firstName: 'Carol', lastName: 'Jones', displayName: 'Carol Jones', email: 'carol@example.com', password, active: true });
  const carol = await client.getUser('carol');
  t.same(carol, { name: 'carol', active: true, email: 'carol@example.com', firstName: 'Carol', lastName: 'Jones', displayName: 'Carol Jones' });
  const duplicate = await client
    .createUser({ name: 'Carol', firstName: undefined, lastName: undefined, displayName: undefined, email: undefined, password, active: true })
    .catch((e: unknown) => e);
  t.type(duplicate, IdentityNotFoundError, 'Crowd refusing the user is about the identity: the no-account page');
  t.equal((duplicate as IdentityNotFoundError).detail, 'INVALID_USER');
  t.match((duplicate as Error).message, /Crowd refused to create user "Carol" \(POST \/user: INVALID_USER "User <Carol> already exists"\)/);
  t.match((duplicate as IdentityNotFoundError).publicMessage, /could not be created here automatically/);
  t.notMatch((duplicate as Error).message, password);

  if (carol !== null) await client.updateUser({ ...carol, email: 'c.jones@example.com', active: false });
  t.same(await client.getUser('carol'), { name: 'carol', active: false, email: 'c.jones@example.com', firstName: 'Carol', lastName: 'Jones', displayName: 'Carol Jones' });

  t.same((await client.searchUsersByEmail('alice@example.COM')).map((u) => u.name), ['Alice'], 'case-insensitive');
  t.same(await client.searchUsersByEmail('*@example.com'), [], 'wildcards match nothing but themselves');
  t.same(await client.searchUsersByEmail('nobody@example.com'), []);
});

t.test('groups and memberships, idempotent where the proxy needs it', async (t) => {
  const { client } = await setup(t);
  t.equal(await client.getGroup('confluence-users'), null);
  await client.createGroup('confluence-users', 'Confluence users');
  t.same(await client.getGroup('Confluence-Users'), { name: 'confluence-users', description: 'Confluence users', active: true });
  await client.addUserToGroup('alice', 'confluence-users');
  await client.addUserToGroup('alice', 'confluence-users');
  t.same((await client.getDirectGroups('alice')).sort(), ['confluence-users', 'jira-users']);
  t.same((await client.getNestedGroups('alice')).sort(), ['confluence-users', 'jira-users']);
  await client.removeUserFromGroup('alice', 'jira-users');
  await client.removeUserFromGroup('alice', 'jira-users');
  t.same(await client.getDirectGroups('alice'), ['confluence-users']);
  t.same(await client.getDirectGroups('nobody'), [], 'Crowd answers an empty list for a missing user');

  const missingGroup = await client.addUserToGroup('alice', 'no-such-group').catch((e: unknown) => e);
  t.type(missingGroup, CrowdRejectedError);
  t.equal((missingGroup as CrowdRejectedError).detail, 'HTTP 400 GROUP_NOT_FOUND');
});

t.test('writes without directory permission name the missing permission', async (t) => {
  const { fake, client } = await setup(t);
  fake.addApplication(APP, { password: APP_PASSWORD, allowGenerateUserTokens: true, allowDirectoryWrites: false });
  const error = await client.createGroup('new-group', '').catch((e: unknown) => e);
  t.type(error, CrowdRejectedError);
  t.match((error as Error).message, /APPLICATION_PERMISSION_DENIED/);
  const password = 'Rnd-9c1d7e-long-random-password';
  const user = await client
    .createUser({ name: 'dora', firstName: 'Dora', lastName: 'Diaz', displayName: 'Dora Diaz', email: undefined, password, active: true })
    .catch((e: unknown) => e);
  t.type(user, CrowdRejectedError);
  t.equal((user as CrowdRejectedError).detail, 'APPLICATION_PERMISSION_DENIED');
  t.match((user as Error).message, /Applications → sso-proxy → Permissions and allow "Add User"/);
  t.notMatch((user as Error).message, password);
});
