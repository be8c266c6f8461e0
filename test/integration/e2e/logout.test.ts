/**
 * Logging out through an application's own logout URL: the app logs out as usual, then the proxy ends the Crowd
 * session, clears the cookies, and — when the IdP has single logout — signs the user out there too with a signed
 * LogoutRequest, finishing on the signed-out page when the IdP's signed LogoutResponse comes back.
 */
import { join } from 'node:path';
import t from 'tap';
import { demoKeysDir } from '../../../examples/demo/demo-keys.js';
import type { Browser, BrowserResponse } from '../../support/browser.js';
import { followLoginStart, HTML, loginAs } from '../../support/saml-login.js';
import { HOSTS, SP_SLO_URL, startStack, type Stack } from '../../support/stack.js';

const SP_KEYS = { spPrivateKey: { file: join(demoKeysDir(), 'sp.key') }, spCertificateFile: join(demoKeysDir(), 'sp.crt') };
const PRESETS = { jira: { preset: 'jira' }, confluence: { preset: 'confluence' } };

/** Signs in at the demo IdP with its login form (so the IdP has a session to end), landing on `url`. */
async function signInAtIdp(browser: Browser, url: string): Promise<BrowserResponse> {
  const form = await browser.navigate(url);
  const autoPost = await browser.submitForm(form, { username: 'alice', password: 'alice-pw' });
  return browser.submitForm(autoPost);
}

function crowdToken(browser: Browser): string | undefined {
  return browser.cookies.find((cookie) => cookie.name === 'crowd.token_key')?.value;
}

function sessionsOf(stack: Stack, username: string): number {
  return [...stack.crowd.sessions.values()].filter((session) => session.username === username).length;
}

t.test('Jira logout with single logout: the app logs out, the Crowd session ends, the IdP signs out too', async (t) => {
  const stack = await startStack(t, { config: { saml: SP_KEYS }, apps: PRESETS });
  const browser = stack.browser();
  const landed = await signInAtIdp(browser, `http://${HOSTS.jira}/browse/DEMO-1`);
  t.match(landed.body, /Logged in as <b>alice<\/b>/);
  const token = crowdToken(browser) as string;
  t.ok(stack.crowd.sessions.has(token), 'a Crowd session exists');

  const logoutHop = await browser.request(`http://${HOSTS.jira}/secure/Logout!default.jspa?atl_token=x`, { headers: HTML });
  t.equal(logoutHop.status, 302, "the app's logout answer is replaced by a redirect to the IdP");
  const toIdp = new URL(logoutHop.headers.location as string);
  t.equal(`${toIdp.origin}${toIdp.pathname}`, stack.idp.sloUrl, "to the IdP's SingleLogoutService");
  t.ok(toIdp.searchParams.get('Signature'), 'the LogoutRequest is signed');
  t.notOk(stack.crowd.sessions.has(token), 'the Crowd session was invalidated (DELETE /session/{token})');
  t.equal(crowdToken(browser), undefined, "Crowd's cookie was cleared");
  t.ok(browser.cookies.some((cookie) => cookie.name === 'crowd_sso_proxy_signed_out'), 'the signed-out marker was set');

  const finished = await browser.navigate(logoutHop.headers.location as string);
  t.equal(finished.status, 200);
  t.equal(new URL(finished.url).origin + new URL(finished.url).pathname, SP_SLO_URL, "the IdP's LogoutResponse came back to the proxy");
  t.match(finished.body, /signed out of the Atlassian applications and of your identity provider/);
  const received = stack.idp.receivedLogoutRequests[0];
  t.match(received, { nameId: 'alice', destination: stack.idp.sloUrl }, 'the IdP verified the LogoutRequest for alice');
  t.ok(received?.sessionIndex, 'naming the SAML session');

  const again = await browser.navigate(`http://${HOSTS.confluence}/login.action?logout=true`);
  t.equal(again.status, 200);
  t.match(again.body, /signed out a moment ago/, "right after logout the app's own post-logout landing does not sign the browser straight back in");
  const signIn = /href="([^"]+)">Sign in again/.exec(again.body)?.[1]?.replace(/&amp;/g, '&') as string;
  const relogin = await browser.navigate(new URL(signIn, again.url).href);
  t.match(relogin.body, /name="password"/, 'signing in again explicitly goes to the IdP, whose session has ended');
  t.notOk(browser.cookies.some((cookie) => cookie.name === 'crowd_sso_proxy_signed_out'), 'the explicit sign-in removed the marker');

  const logoutLine = stack.logs.find((line) => line.event === 'logout' && line.msg === 'logout: the SSO session was ended');
  t.match(logoutLine, { app: 'jira', user: 'alice', sessions: 1 });
  t.notMatch(JSON.stringify(stack.logs), new RegExp(token), 'the token never appears in the log');
});

t.test('without single logout (no SP key): the signed-out page, the Crowd session gone, cookies cleared', async (t) => {
  const stack = await startStack(t, { apps: PRESETS });
  const browser = stack.browser();
  const token = await loginAs(stack, browser, HOSTS.confluence);
  t.equal(sessionsOf(stack, 'alice'), 1);
  const res = await browser.request(`http://${HOSTS.confluence}/logout.action`, { headers: HTML });
  t.equal(res.status, 200);
  t.match(res.body, /Signed out/);
  t.match(res.body, /Your identity provider may still remember you/);
  t.notOk(stack.crowd.sessions.has(token), 'the Crowd session was invalidated');
  t.equal(crowdToken(browser), undefined);
  const cleared = (res.headers['set-cookie'] ?? []).filter((cookie) => cookie.startsWith('crowd.token_key=;') && cookie.includes('SameSite=Lax'));
  t.same(
    cleared.map((cookie) => /Domain=([^;]+)/.exec(cookie)?.[1] ?? 'host-only'),
    ['sso.test', 'host-only'],
    "the proxy cleared it on Crowd's domain and host-only (after the app's own Set-Cookie)",
  );
  t.ok(stack.logs.some((line) => line.reason === 'slo_unavailable'), 'the log says why there was no single logout');

  const api = await browser.request(`http://${HOSTS.confluence}/rest/api/content`, { headers: { accept: 'application/json' } });
  t.equal(api.status, 401, 'the old token is refused at once');
});

t.test('logout.redirectUrl; XHR logouts get the app answer with the cookies cleared; no cookie, nothing to end', async (t) => {
  const stack = await startStack(t, { apps: PRESETS, config: { logout: { redirectUrl: 'https://intranet.example.com/bye' } } });
  const browser = stack.browser();
  await loginAs(stack, browser, HOSTS.jira);
  const res = await browser.request(`http://${HOSTS.jira}/logout`, { headers: HTML });
  t.equal(res.status, 302);
  t.equal(res.headers.location, 'https://intranet.example.com/bye');

  const other = stack.browser();
  const token = await loginAs(stack, other, HOSTS.jira);
  const xhr = await other.request(`http://${HOSTS.jira}/logout`, { headers: { accept: 'application/json', 'x-requested-with': 'XMLHttpRequest' } });
  t.equal(xhr.status, 200, "the app's own answer");
  t.match(xhr.body, /You are now logged out/);
  t.notOk(stack.crowd.sessions.has(token));
  t.equal(crowdToken(other), undefined);

  const anonymous = await stack.browser().request(`http://${HOSTS.jira}/logout`, { headers: HTML });
  t.equal(anonymous.status, 200, 'without a Crowd cookie the logout reaches the app untouched');
  t.notOk(anonymous.headers['set-cookie']?.some((cookie) => cookie.startsWith('crowd_sso_proxy_signed_out')));
});

t.test('a logout request from another site is left to the app: the proxy ends nothing', async (t) => {
  const stack = await startStack(t, { apps: PRESETS });
  const browser = stack.browser();
  await loginAs(stack, browser, HOSTS.jira);
  const res = await browser.request(`http://${HOSTS.jira}/secure/Logout!default.jspa`, { headers: { ...HTML, 'sec-fetch-site': 'cross-site' } });
  t.equal(res.status, 200);
  t.match(res.body, /You are now logged out/, "the app's own answer (real Jira asks to confirm without atl_token)");
  t.notOk(res.headers['set-cookie']?.some((cookie) => cookie.startsWith('crowd_sso_proxy_signed_out')), 'no marker from the proxy');
  t.ok(stack.logs.some((line) => line.reason === 'cross_site_logout'));
});

t.test('after a logout, a deep link (mail, bookmark, address bar) signs in again at once and lands where it pointed', async (t) => {
  const stack = await startStack(t, { config: { saml: SP_KEYS }, apps: PRESETS });
  const browser = stack.browser();
  await signInAtIdp(browser, `http://${HOSTS.jira}/browse/DEMO-1`);
  const logoutHop = await browser.request(`http://${HOSTS.jira}/secure/Logout!default.jspa?atl_token=x`, { headers: HTML });
  const signedOut = await browser.navigate(logoutHop.headers.location as string);
  t.match(signedOut.body, /signed out of the Atlassian applications and of your identity provider/);
  t.ok(browser.cookies.some((cookie) => cookie.name === 'crowd_sso_proxy_signed_out'), 'the marker is there');

  const deepLink = `http://${HOSTS.jira}/browse/DEMO-2?focusedCommentId=7`;
  const form = await browser.navigate(deepLink);
  t.match(form.body, /name="password"/, 'not the signed-out page: the IdP, whose session ended with single logout, asks for the password');
  const autoPost = await browser.submitForm(form, { username: 'alice', password: 'alice-pw' });
  const landed = await browser.submitForm(autoPost);
  t.equal(landed.url, deepLink, 'back on the deep link');
  t.match(landed.body, /Logged in as <b>alice<\/b>/);
});

t.test('logout.suppressLoginSeconds 0 turns the pause off: no marker is set', async (t) => {
  const stack = await startStack(t, { config: { logout: { suppressLoginSeconds: 0 } }, apps: PRESETS });
  const browser = stack.browser();
  await loginAs(stack, browser, HOSTS.jira);
  const res = await browser.request(`http://${HOSTS.jira}/secure/Logout!default.jspa?atl_token=x`, { headers: HTML });
  t.equal(res.status, 200);
  t.notOk(browser.cookies.some((cookie) => cookie.name === 'crowd_sso_proxy_signed_out'));
  const landing = await followLoginStart(browser, await browser.request(`http://${HOSTS.confluence}/login.action?logout=true`, { headers: HTML }));
  t.equal(landing.status, 302, "the app's login page goes to the IdP at once");
  t.match(String(landing.headers.location), /SAMLRequest=/);
});
