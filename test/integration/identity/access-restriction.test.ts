import t from 'tap';
import WebSocket from 'ws';
import { HTML } from '../../support/saml-login.js';
import { HOSTS, startStack, type StackOptions } from '../../support/stack.js';
import { crowdOf, loginWith } from './identity-kit.js';

const JSON_ACCEPT = { accept: 'application/json' };

/** jira: IdP group jira-users only; echo: Crowd group echo-users only; confluence: everyone. */
const options: StackOptions = {
  config: { identity: { groups: { attribute: 'groups' } } },
  apps: {
    jira: { access: { idpGroups: ['Jira-Users'], contact: 'the IT service desk (help.example.com)' } },
    echo: { access: { crowdGroups: ['echo-users'] } },
  },
};

t.test('at login: a user without an allowed group is refused with a page saying why and whom to ask', async (t) => {
  const stack = await startStack(t, options);
  const { res, audit } = await loginWith(stack, { nameId: 'alice', attributes: { groups: ['confluence-users'] } });
  t.equal(res.status, 403);
  t.match(res.body, /Access denied/);
  t.match(res.body, /You signed in as alice, but your account may not use jira\. To get access, contact the IT service desk \(help\.example\.com\)\./);
  t.match(res.body, new RegExp(`Reference: <code>${String(res.headers['x-request-id'])}</code>`), 'the correlation id');
  t.notOk(res.headers['set-cookie'], 'no cookie');
  t.equal(stack.crowd.sessions.size, 0, 'no Crowd session');
  t.match(audit, { outcome: 'failure', reason: 'access_denied', detail: 'app_access_restricted', user: 'alice', app: 'jira' });
  const detail = stack.logs.find((line) => line.detail === 'app_access_restricted' && line.event === undefined);
  t.match(detail?.msg, /requires one of the IdP groups "Jira-Users"; the user has IdP groups "confluence-users"/);

  const allowed = await loginWith(stack, { nameId: 'alice', attributes: { groups: ['jira-users'] } });
  t.equal(allowed.res.status, 303, 'the IdP group (ignoring case) lets the user in');
});

t.test('at the gate: a cookie made by a login through another app does not open a restricted app', async (t) => {
  const stack = await startStack(t, options);
  const { res, browser } = await loginWith(stack, { nameId: 'alice', attributes: { groups: ['confluence-users'] } }, { host: HOSTS.confluence });
  t.equal(res.status, 303, 'confluence lets everyone in');
  t.equal((await browser.request(`http://${HOSTS.confluence}/display/X`, { headers: HTML })).status, 200);

  const page = await browser.request(`http://${HOSTS.jira}/browse/X-1`, { headers: HTML });
  t.equal(page.status, 403);
  t.match(page.body, /may not use jira\. To get access, contact the IT service desk/);
  const api = await browser.request(`http://${HOSTS.jira}/rest/api/2/myself`, { headers: JSON_ACCEPT });
  t.equal(api.status, 403);
  t.match(JSON.parse(api.body), { error: 'ERR_ACCESS_DENIED', reason: 'access_denied', requestId: api.headers['x-request-id'] });

  const member = await loginWith(stack, { nameId: 'alice', attributes: { groups: ['jira-users'] } }, { host: HOSTS.confluence });
  t.equal((await member.browser.request(`http://${HOSTS.jira}/browse/X-1`, { headers: HTML })).status, 200, 'the IdP groups of the session are remembered');
});

t.test('at the gate: Crowd groups are checked (cached like tokens); unrestricted apps never ask', async (t) => {
  const stack = await startStack(t, { ...options, crowd: { users: [{ name: 'alice', groups: ['echo-users'] }, { name: 'bob' }] } });
  const alice = await loginWith(stack, { nameId: 'alice' }, { host: HOSTS.confluence });
  const bob = await loginWith(stack, { nameId: 'bob' }, { host: HOSTS.confluence });
  const nestedCalls = (): number => stack.crowd.countCalls('GET', '/user/group/nested');
  t.equal(nestedCalls(), 0, 'logins through an unrestricted app do not look at groups');
  await alice.browser.request(`http://${HOSTS.confluence}/`, { headers: HTML });
  t.equal(nestedCalls(), 0, 'neither do requests to it');

  t.equal((await alice.browser.request(`http://${HOSTS.echo}/a`, { headers: JSON_ACCEPT })).status, 200);
  t.equal((await alice.browser.request(`http://${HOSTS.echo}/b`, { headers: JSON_ACCEPT })).status, 200);
  t.equal(nestedCalls(), 1, "one Crowd call for the user's groups within the cache TTL");
  t.equal((await bob.browser.request(`http://${HOSTS.echo}/a`, { headers: JSON_ACCEPT })).status, 403, 'bob is in no allowed group');
  t.equal(stack.echo.requests.length, 2, "the upstream saw alice's two requests only");
});

t.test('at the gate: WebSocket upgrades to a restricted app are refused with 403', async (t) => {
  const stack = await startStack(t, options);
  const { browser } = await loginWith(stack, { nameId: 'alice' }, { host: HOSTS.confluence });
  const token = browser.cookies.find((cookie) => cookie.name === 'crowd.token_key')?.value as string;
  const status = await new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${stack.proxyPort}/socket`, { headers: { host: HOSTS.echo, cookie: `crowd.token_key=${token}` } });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', reject);
  });
  t.equal(status, 403);
});

t.test('a Crowd session the proxy did not make has no IdP groups: only Crowd groups can let it in', async (t) => {
  const stack = await startStack(t, options);
  const crowd = crowdOf(stack, t);
  const session = await crowd.createSession('alice', [{ name: 'remote_address', value: '127.0.0.1' }]);
  const browser = stack.browser();
  browser.setCookie(HOSTS.jira, 'crowd.token_key', session.token, 'sso.test');
  const res = await browser.request(`http://${HOSTS.jira}/browse/X-1`, { headers: HTML });
  t.equal(res.status, 403);
  t.match(stack.logs.find((line) => line.detail === 'app_access_restricted')?.msg, /the user has IdP groups none/);
  t.equal((await browser.request(`http://${HOSTS.confluence}/`, { headers: HTML })).status, 200, 'unrestricted apps are unaffected');
});
