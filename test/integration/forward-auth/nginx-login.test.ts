/**
 * Browsers through a real nginx in forward-auth mode (the generated nginx-config): a deep-link login at the IdP, the
 * second app without a prompt, and logout through the app's own logout URL (which nginx hands to the proxy).
 */
import { join } from 'node:path';
import t from 'tap';
import { demoKeysDir } from '../../../examples/demo/demo-keys.js';
import type { Browser } from '../../support/browser.js';
import { HTML } from '../../support/saml-login.js';
import { HOSTS, SP_SLO_URL } from '../../support/stack.js';
import { skip, startNginxStack, TEST_TIMEOUT_MS } from './nginx-setup.js';

const SP_KEYS = { spPrivateKey: { file: join(demoKeysDir(), 'sp.key') }, spCertificateFile: join(demoKeysDir(), 'sp.crt') };
const PRESETS = { jira: { preset: 'jira' }, confluence: { preset: 'confluence' } };

const crowdToken = (browser: Browser): string | undefined => browser.cookies.find((cookie) => cookie.name === 'crowd.token_key')?.value;

t.test('a Jira deep link through nginx: the IdP form, back on the deep link signed in; Confluence follows without a prompt', { skip, timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { stack, browser: newBrowser } = await startNginxStack(t, { apps: PRESETS });
  const browser = newBrowser();
  const deepLink = `http://${HOSTS.jira}/browse/DEMO-1?focusedCommentId=10&page=com.atlassian`;

  const first = await browser.request(deepLink, { headers: HTML });
  t.equal(first.status, 302, 'nginx answers the browser with a redirect');
  t.equal(first.headers.location, `/_sso/login?return=${encodeURIComponent(deepLink)}`, 'to the login start on the same host, carrying the deep link');

  const loginForm = await browser.navigate(deepLink);
  t.equal(loginForm.status, 200);
  t.ok(loginForm.url.startsWith(stack.idp.url), `now at the IdP (${loginForm.url.slice(0, 60)})`);
  t.match(loginForm.body, /name="password"/, 'the IdP asks for credentials');

  const autoPost = await browser.submitForm(loginForm, { username: 'alice', password: 'alice-pw' });
  t.match(autoPost.body, /action="http:\/\/jira\.sso\.test\/_sso\/saml\/acs"/, 'the IdP posts to the ACS on the app host (nginx hands it to the proxy)');
  const landed = await browser.submitForm(autoPost);
  t.equal(landed.status, 200);
  t.equal(landed.url, deepLink, 'back on the exact deep link');
  t.match(landed.body, /Logged in as <b>alice<\/b>/, 'the Jira-like app, reached through nginx, validated the Crowd cookie');
  t.equal(browser.cookies.filter((c) => c.name === 'crowd.token_key').length, 1, 'one Crowd cookie in the browser');

  const logins = stack.crowd.countCalls('POST', '/session?');
  const confluence = await browser.navigate(`http://${HOSTS.confluence}/display/DEMO/Welcome`);
  t.equal(confluence.status, 200);
  t.equal(confluence.url, `http://${HOSTS.confluence}/display/DEMO/Welcome`, 'no detour through the IdP');
  t.match(confluence.body, /Logged in as <b>alice<\/b>/);
  t.equal(stack.crowd.countCalls('POST', '/session?'), logins, 'no new Crowd session for the second app');

  const direct = await browser.request(`http://${HOSTS.jira}/_sso/auth`, { headers: { 'x-original-uri': '/browse/DEMO-1' } });
  t.equal(direct.status, 404, 'the auth endpoint is internal to nginx: a client cannot call it');
});

t.test('logout through the app\'s logout URL: the app logs out, the Crowd session ends, single logout at the IdP', { skip, timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { stack, browser: newBrowser } = await startNginxStack(t, { apps: PRESETS, config: { saml: SP_KEYS } });
  const browser = newBrowser();
  const form = await browser.navigate(`http://${HOSTS.jira}/browse/DEMO-1`);
  const landed = await browser.submitForm(await browser.submitForm(form, { username: 'alice', password: 'alice-pw' }));
  t.match(landed.body, /Logged in as <b>alice<\/b>/);
  const token = crowdToken(browser) as string;
  t.ok(stack.crowd.sessions.has(token), 'a Crowd session exists');

  const logoutHop = await browser.request(`http://${HOSTS.jira}/secure/Logout!default.jspa?atl_token=x`, { headers: HTML });
  t.equal(logoutHop.status, 302, "the app's logout answer is replaced by a redirect to the IdP (the proxy handled it, not forward-auth)");
  const toIdp = new URL(logoutHop.headers.location as string);
  t.equal(`${toIdp.origin}${toIdp.pathname}`, stack.idp.sloUrl, "to the IdP's SingleLogoutService");
  t.notOk(stack.crowd.sessions.has(token), 'the Crowd session was invalidated');
  t.equal(crowdToken(browser), undefined, "Crowd's cookie was cleared");

  const finished = await browser.navigate(logoutHop.headers.location as string);
  t.equal(finished.status, 200);
  t.equal(new URL(finished.url).origin + new URL(finished.url).pathname, SP_SLO_URL, "the IdP's LogoutResponse came back through nginx to the proxy");
  t.match(finished.body, /signed out of the Atlassian applications and of your identity provider/);

  const after = await browser.request(`http://${HOSTS.confluence}/display/DEMO/Welcome`, { headers: HTML });
  t.notMatch(after.body, /Logged in as/, 'the other app no longer sees a session');
  const api = await newBrowser().request(`http://${HOSTS.confluence}/rest/api/content`, { headers: { accept: 'application/json', cookie: `crowd.token_key=${token}` } });
  t.notMatch(api.body, /Logged in as/, 'the old token opens nothing');
});

t.test('the Confluence logout URL and login page go to the proxy too', { skip, timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { stack, browser: newBrowser } = await startNginxStack(t, { apps: PRESETS });
  const browser = newBrowser();
  const form = await browser.navigate(`http://${HOSTS.confluence}/display/DEMO/Welcome`);
  await browser.submitForm(await browser.submitForm(form, { username: 'alice', password: 'alice-pw' }));
  const token = crowdToken(browser) as string;
  t.ok(stack.crowd.sessions.has(token));

  const res = await browser.request(`http://${HOSTS.confluence}/logout.action`, { headers: HTML });
  t.equal(res.status, 200);
  t.match(res.body, /Signed out/, "the proxy's signed-out page (no single logout configured)");
  t.notOk(stack.crowd.sessions.has(token), 'the Crowd session was invalidated');
  t.equal(crowdToken(browser), undefined);

  const loginPage = await newBrowser().navigate(`http://${HOSTS.confluence}/login.action?os_destination=%2Fdisplay%2FDEMO`);
  t.ok(loginPage.url.startsWith(stack.idp.url), `the app's own login page sends a browser to the IdP (${loginPage.url.slice(0, 60)})`);
  t.match(loginPage.body, /name="password"/);
});
