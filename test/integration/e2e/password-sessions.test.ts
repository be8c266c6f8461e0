/**
 * Directory passwords must not mint single sign-on sessions without the IdP: the answer to a forward on the client's
 * own credentials never hands the browser a Crowd cookie (apps[].passCrowdCookieFromCredentials to allow it), and
 * with saml.requireSsoSession a Crowd session the proxy did not create sends a browser navigation to the IdP.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { followLoginStart, HTML, loginAs } from '../../support/saml-login.js';
import { HOSTS, startStack, type StackOptions } from '../../support/stack.js';

const XHR = { accept: 'application/json', 'x-requested-with': 'XMLHttpRequest' };

/** An app whose Crowd authenticator signs a Basic user in: it answers every request with a new Crowd cookie. */
async function passwordApp(t: { teardown(fn: () => unknown): void }): Promise<{ url: string; received: IncomingHttpHeaders[] }> {
  const received: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    received.push(req.headers);
    res.setHeader('set-cookie', ['JSESSIONID=app-session; Path=/; HttpOnly', 'crowd.token_key=mintedFromPassword0; Domain=.sso.test; Path=/', ' Crowd.Token_Key=mintedOtherCase; Path=/']);
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

const setCookies = (headers: Record<string, string | string[] | undefined>): string[] => {
  const value = headers['set-cookie'];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
};

t.test("the answer to a request with the client's own credentials carries no Crowd cookie; the app's other cookies pass", async (t) => {
  const app = await passwordApp(t);
  const stack = await startStack(t, { apps: { echo: { preset: 'jira', upstream: app.url } } });
  const res = await stack.browser().request(`http://${HOSTS.echo}/rest/api/2/myself`, { headers: { ...XHR, authorization: 'Basic YWxpY2U6eA==' } });
  t.equal(res.status, 200);
  t.same(setCookies(res.headers), ['JSESSIONID=app-session; Path=/; HttpOnly'], 'the Crowd cookie the app made from the password is dropped, in any case');
  t.equal(app.received[0]?.authorization, 'Basic YWxpY2U6eA==', 'the credentials reached the app');
});

t.test('apps[].passCrowdCookieFromCredentials lets it through', async (t) => {
  const app = await passwordApp(t);
  const stack = await startStack(t, { apps: { echo: { preset: 'jira', upstream: app.url, passCrowdCookieFromCredentials: true } } });
  const res = await stack.browser().request(`http://${HOSTS.echo}/rest/api/2/myself`, { headers: { ...XHR, authorization: 'Basic YWxpY2U6eA==' } });
  t.equal(setCookies(res.headers).length, 3);
});

t.test('a signed-in user keeps the Set-Cookie of the app (only credentials forwards lose the Crowd cookie)', async (t) => {
  const app = await passwordApp(t);
  const stack = await startStack(t, { apps: { echo: { preset: 'jira', upstream: app.url } } });
  const browser = stack.browser();
  await loginAs(stack, browser, HOSTS.confluence);
  const res = await browser.request(`http://${HOSTS.echo}/secure/Dashboard.jspa`, { headers: HTML });
  t.equal(res.status, 200);
  t.equal(setCookies(res.headers).length, 3);
});

/** A Crowd session made the way an app's login form makes one: by the app's own Crowd application, with the password. */
async function passwordSession(stack: Awaited<ReturnType<typeof startStack>>, username: string): Promise<string> {
  const res = await fetch(`${stack.crowd.baseUrl}/rest/usermanagement/1/session`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('jira:jira-pw').toString('base64')}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ username, password: 'x', 'validation-factors': { validationFactors: [{ name: 'remote_address', value: '127.0.0.1' }] } }),
  });
  if (res.status !== 201) throw new Error(`Crowd answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

const SSO_ONLY: StackOptions = { config: { saml: { requireSsoSession: true } } };

t.test('saml.requireSsoSession: a browser with a session an app made from a password is sent to the IdP', async (t) => {
  const stack = await startStack(t, SSO_ONLY);
  const token = await passwordSession(stack, 'alice');
  const browser = stack.browser();
  const page = await followLoginStart(browser, await browser.request(`http://${HOSTS.echo}/secure/Dashboard.jspa`, { headers: { ...HTML, cookie: `crowd.token_key=${token}` } }));
  t.equal(page.status, 302, 'a navigation goes to the IdP');
  t.match(String(page.headers.location), /SAMLRequest=/);
  const before = stack.echo.requests.length;
  const api = await browser.request(`http://${HOSTS.echo}/rest/api/2/myself`, { headers: { ...XHR, cookie: `crowd.token_key=${token}` } });
  t.equal(api.status, 200, 'a script keeps the session the app gave it');
  t.equal(stack.echo.requests.length, before + 1);

  await loginAs(stack, browser, HOSTS.echo);
  t.equal((await browser.request(`http://${HOSTS.echo}/secure/Dashboard.jspa`, { headers: HTML })).status, 200, 'a session made by an SSO login is let in');
  t.ok(stack.logs.some((line) => line.reason === 'not-from-sso'), 'the log says why the browser was sent to sign in');
});

t.test('without saml.requireSsoSession the same session is let in (the default keeps password sessions)', async (t) => {
  const stack = await startStack(t);
  const token = await passwordSession(stack, 'alice');
  const page = await stack.browser().request(`http://${HOSTS.echo}/secure/Dashboard.jspa`, { headers: { ...HTML, cookie: `crowd.token_key=${token}` } });
  t.equal(page.status, 200);
});
