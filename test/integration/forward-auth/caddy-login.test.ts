/**
 * Browsers through a real Caddy in forward-auth mode, running the Caddyfile `renderCaddyConfig` generates for the
 * test stack: a deep-link login at the IdP, and what the app upstream receives (exactly one valid Crowd cookie with a
 * session; nothing for an anonymous request; never the client's forged headers; request bodies intact).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { renderCaddyConfig } from '../../../src/cli/caddy-config.js';
import { findCookieValues } from '../../../src/policy/cookie-header.js';
import { Browser } from '../../support/browser.js';
import { HTML } from '../../support/saml-login.js';
import { HOSTS, startStack, type Stack, type StackOptions } from '../../support/stack.js';

const skip: string | false = spawnSync('caddy', ['version']).status === 0 ? false : 'caddy is not installed (Debian package caddy): Caddy forward-auth not tested';
const TEST_TIMEOUT_MS = 60_000;

interface Teardown {
  teardown(fn: () => unknown): void;
  testdir(): string;
}

interface CaddyStack {
  readonly stack: Stack;
  readonly port: number;
  /** A new browser that resolves the app hosts to Caddy. */
  browser(): Browser;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitUntilListening(port: number, caddy: ChildProcess, output: () => string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (caddy.exitCode !== null) throw new Error(`caddy exited with ${caddy.exitCode}:\n${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = createServer().listen(port, '127.0.0.1');
      socket.once('listening', () => socket.close(() => resolve(false)));
      socket.once('error', () => resolve(true));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`caddy did not listen on ${port}:\n${output()}`);
}

async function startCaddyStack(t: Teardown, options: StackOptions = {}): Promise<CaddyStack> {
  const stack = await startStack(t, { ...options, config: { trustedProxies: ['127.0.0.1/32'], ...options.config } });
  const dir = t.testdir();
  const port = await freePort();
  const global = ['{', '\tadmin off', '\tauto_https off', `\thttp_port ${port}`, '\tdefault_bind 127.0.0.1', '}', ''].join('\n');
  const file = join(dir, 'Caddyfile');
  writeFileSync(file, global + renderCaddyConfig(stack.config, { ssoUpstream: `http://127.0.0.1:${stack.proxyPort}` }));
  const caddy = spawn('caddy', ['run', '--adapter', 'caddyfile', '--config', file], {
    env: { ...process.env, HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  caddy.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  caddy.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // Caddy stops before the stack does (teardowns run in reverse order).
  t.teardown(async () => {
    if (caddy.exitCode !== null) return;
    const exited = new Promise((resolve) => caddy.once('exit', resolve));
    caddy.kill('SIGTERM');
    await exited;
  });
  await waitUntilListening(port, caddy, () => output);
  return { stack, port, browser: () => new Browser((hostname) => (hostname.endsWith('.sso.test') ? port : undefined)) };
}

const PRESETS = { jira: { preset: 'jira' }, confluence: { preset: 'confluence' } };

/** Signs alice in at the demo IdP's form, starting from `url`; returns the Crowd token the browser then holds. */
async function signIn(browser: Browser, url: string): Promise<string> {
  const form = await browser.navigate(url);
  if (!/name="password"/.test(form.body)) throw new Error(`no IdP login form at ${form.url}: ${form.status} ${form.body.slice(0, 200)}`);
  await browser.submitForm(await browser.submitForm(form, { username: 'alice', password: 'alice-pw' }));
  const token = browser.cookies.find((c) => c.name === 'crowd.token_key')?.value;
  if (token === undefined) throw new Error('the login set no Crowd cookie');
  return token;
}

t.test('a Jira deep link through Caddy: the IdP form, back on the deep link signed in', { skip, timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { stack, browser: newBrowser } = await startCaddyStack(t, { apps: PRESETS });
  const browser = newBrowser();
  const deepLink = `http://${HOSTS.jira}/browse/DEMO-1?focusedCommentId=10&page=com.atlassian`;

  const first = await browser.request(deepLink, { headers: HTML });
  t.equal(first.status, 302, 'Caddy passes the proxy\'s redirect to the browser');
  t.equal(first.headers.location, `http://${HOSTS.jira}/_sso/login?return=${encodeURIComponent(deepLink)}`, 'to the login start on the same host, carrying the deep link');

  const loginForm = await browser.navigate(deepLink);
  t.ok(loginForm.url.startsWith(stack.idp.url), `now at the IdP (${loginForm.url.slice(0, 60)})`);
  const autoPost = await browser.submitForm(loginForm, { username: 'alice', password: 'alice-pw' });
  t.match(autoPost.body, /action="http:\/\/jira\.sso\.test\/_sso\/saml\/acs"/, 'the IdP posts to the ACS on the app host (Caddy hands it to the proxy)');
  const landed = await browser.submitForm(autoPost);
  t.equal(landed.status, 200);
  t.equal(landed.url, deepLink, 'back on the exact deep link');
  t.match(landed.body, /Logged in as <b>alice<\/b>/, 'the Jira-like app, reached through Caddy, validated the Crowd cookie');

  const direct = await browser.request(`http://${HOSTS.jira}/_sso/auth?redirect=1`, { headers: { 'x-forwarded-uri': '/browse/DEMO-1', 'x-original-uri': '/browse/DEMO-1' } });
  t.equal(direct.status, 404, 'the auth endpoint is internal to Caddy: a client cannot call it');
  t.notOk(direct.headers['x-sso-cookie']);

  const confluence = await browser.navigate(`http://${HOSTS.confluence}/display/DEMO/Welcome`);
  t.equal(confluence.url, `http://${HOSTS.confluence}/display/DEMO/Welcome`, 'the second app without a detour through the IdP');
  t.match(confluence.body, /Logged in as <b>alice<\/b>/);
});

t.test('the app upstream gets exactly one valid Crowd cookie, the client\'s forged headers never, the body intact', { skip, timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { stack, browser: newBrowser } = await startCaddyStack(t);
  const browser = newBrowser();
  const token = await signIn(browser, `http://${HOSTS.echo}/start`);
  browser.setCookie(HOSTS.echo, 'crowd.token_key', 'stale-copy');
  browser.setCookie(HOSTS.echo, 'JSESSIONID', 'j1');
  t.match(browser.cookieHeaderFor(HOSTS.echo), /crowd\.token_key=stale-copy/, 'the browser sends a stale copy as well');

  const before = stack.echo.requests.length;
  const body = 'x'.repeat(100_000);
  const answer = await browser.request(`http://${HOSTS.echo}/upload?a=1`, {
    method: 'POST',
    headers: { ...HTML, 'content-type': 'text/plain', 'x-sso-cookie': 'crowd.token_key=forged', 'x-sso-user': 'admin', 'x-remote-user': 'admin', 'x-forwarded-uri': '/elsewhere' },
    body,
  });
  t.equal(answer.status, 200);
  const received = stack.echo.requests.slice(before);
  t.equal(received.length, 1, 'one request reached the app');
  const seen = received[0];
  if (seen === undefined) return;
  t.equal(seen.method, 'POST');
  t.equal(seen.url, '/upload?a=1');
  t.equal(seen.bodyBytes, body.length, 'the body reached the app whole (the auth request did not consume it)');
  const cookie = String(seen.headers.cookie);
  t.same(findCookieValues(cookie, 'crowd.token_key'), [token], 'exactly one Crowd cookie, the valid one');
  t.match(cookie, /JSESSIONID=j1/, 'the app\'s own cookies stay');
  t.equal(seen.headers['x-sso-user'], 'alice', 'the Crowd user, from the proxy\'s answer, not the client\'s');
  t.notOk(seen.headers['x-sso-cookie'], 'the auth answer\'s cookie header itself is not passed on');
  t.notOk(seen.headers['x-remote-user'], 'identity headers from the client removed');
  t.notOk(seen.headers['x-forwarded-uri']);
  t.equal(seen.headers.host, HOSTS.echo);
});

t.test('anonymous requests reach nothing; a forged cookie opens nothing', { skip, timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { stack, browser: newBrowser } = await startCaddyStack(t);
  const before = stack.echo.requests.length;
  const anonymous = await newBrowser().request(`http://${HOSTS.echo}/anything`, { headers: HTML });
  t.equal(anonymous.status, 302, 'a browser is sent to sign in');
  t.match(anonymous.headers.location, /^http:\/\/[^/]+\/_sso\/login\?return=/);
  const forged = await newBrowser().request(`http://${HOSTS.echo}/anything`, {
    headers: { ...HTML, cookie: 'crowd.token_key=forged', 'x-sso-cookie': 'crowd.token_key=forged' },
  });
  t.equal(forged.status, 302, 'an unknown token is no session');
  const api = await newBrowser().request(`http://${HOSTS.echo}/rest/api/thing`, { headers: { accept: 'application/json' } });
  t.not(api.status, 200, `an API client without credentials is refused (${api.status})`);
  t.equal(stack.echo.requests.length, before, 'the app upstream received nothing');
});

t.test('Basic credentials on a credentials path reach the app without the Crowd cookie, also when no cookie is left', { skip, timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { stack, browser: newBrowser } = await startCaddyStack(t, { apps: { echo: { preset: 'bitbucket' } } });
  const token = await signIn(newBrowser(), `http://${HOSTS.jira}/browse/DEMO-1`);
  const client = newBrowser();
  const send = async (cookie: string) => {
    const before = stack.echo.requests.length;
    const answer = await client.request(`http://${HOSTS.echo}/rest/api/1.0/projects`, { headers: { accept: 'application/json', authorization: 'Basic eDp4', cookie } });
    t.equal(answer.status, 200);
    const seen = stack.echo.requests.slice(before);
    t.equal(seen.length, 1);
    t.equal(seen[0]?.headers.authorization, 'Basic eDp4', 'the client\'s own credentials');
    t.notOk(seen[0]?.headers['x-sso-user'], `no user header without a session (${JSON.stringify(seen[0]?.headers['x-sso-user'])})`);
    return seen[0]?.headers.cookie;
  };
  t.equal(await send(`crowd.token_key=${token}; BITBUCKETSESSIONID=b1`), 'BITBUCKETSESSIONID=b1', 'the app\'s own cookie stays, the Crowd cookie is gone');
  const none = await send(`crowd.token_key=${token}`);
  t.ok(none === undefined || none === '', `no cookie at all when the proxy's answer is empty (${JSON.stringify(none)})`);
});
