/**
 * Session lifetime and strength at the gate: the IdP's SessionNotOnOrAfter, saml.maxSessionAgeSeconds (with
 * ForceAuthn when saml.forceAuthnOnReauth), a session invalidated in Crowd noticed within crowd.cacheTtlSeconds, and
 * step-up to an app's required authentication context (requested in the AuthnRequest, checked in the assertion).
 * The proxy's clock is injected; SAML messages are signed in the test or by the demo IdP.
 */
import t from 'tap';
import { parseAuthnRequest } from '../../../examples/demo/saml-response.js';
import type { Browser } from '../../support/browser.js';
import { followLoginStart, HTML, post, response, startLogin, type StartedLogin } from '../../support/saml-login.js';
import { HOSTS, startStack, type Stack } from '../../support/stack.js';

const MFA = 'http://schemas.microsoft.com/claims/multipleauthn';
const PASSWORD = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';
const JSON_ACCEPT = { accept: 'application/json' };

/** A clock that tests move forward. */
function clock(): { now: () => number; advance: (ms: number) => void } {
  let offsetMs = 0;
  return { now: () => Date.now() + offsetMs, advance: (ms) => (offsetMs += ms) };
}

async function signIn(stack: Stack, browser: Browser, host: string, overrides: Parameters<typeof response>[2] = {}): Promise<StartedLogin> {
  const login = await startLogin(browser, `http://${host}/`);
  const res = await post(browser, login.acsUrl, { SAMLResponse: response(stack, login, overrides), RelayState: login.relayState });
  if (res.status !== 303) throw new Error(`login failed with ${res.status}: ${res.body.slice(0, 300)}`);
  return login;
}

/** The AuthnRequest a 302 to the IdP carries. */
function authnRequestOf(location: string | undefined) {
  return parseAuthnRequest(new URL(location as string).searchParams.get('SAMLRequest') as string);
}

t.test("the IdP's SessionNotOnOrAfter ends the session at the gate: browsers sign in again, other clients get 401", async (t) => {
  const time = clock();
  const stack = await startStack(t, { now: time.now });
  const browser = stack.browser();
  await signIn(stack, browser, HOSTS.echo, { sessionNotOnOrAfter: new Date(Date.now() + 10 * 60_000) });
  t.equal((await browser.request(`http://${HOSTS.echo}/a`, { headers: JSON_ACCEPT })).status, 200, 'before SessionNotOnOrAfter');

  time.advance(10 * 60_000 + 1000);
  const api = await browser.request(`http://${HOSTS.echo}/a`, { headers: JSON_ACCEPT });
  t.equal(api.status, 401, 'after it, although Crowd still knows the session');
  t.match(JSON.parse(api.body), { error: 'ERR_UNAUTHENTICATED', reason: 'session-ended' });
  const page = await followLoginStart(browser, await browser.request(`http://${HOSTS.echo}/a`, { headers: HTML }));
  t.equal(page.status, 302, 'a browser is sent to sign in again');
  t.equal(authnRequestOf(page.headers.location).forceAuthn, false, 'without ForceAuthn unless saml.forceAuthnOnReauth');
  t.ok(stack.logs.some((line) => line.reason === 'session-ended' && line.user === 'alice'), 'logged with the reason');
});

t.test('saml.maxSessionAgeSeconds: re-authentication with ForceAuthn, then access again', async (t) => {
  const time = clock();
  const stack = await startStack(t, { now: time.now, config: { saml: { maxSessionAgeSeconds: 3600, forceAuthnOnReauth: true } } });
  const browser = stack.browser();
  await signIn(stack, browser, HOSTS.echo);
  time.advance(3_599_000);
  t.equal((await browser.request(`http://${HOSTS.echo}/a`, { headers: JSON_ACCEPT })).status, 200, 'younger than the maximum age');
  time.advance(2000);
  const api = await browser.request(`http://${HOSTS.echo}/a`, { headers: JSON_ACCEPT });
  t.match(JSON.parse(api.body), { reason: 'session-too-old' });
  const page = await followLoginStart(browser, await browser.request(`http://${HOSTS.echo}/a`, { headers: HTML }));
  t.equal(page.status, 302);
  t.equal(authnRequestOf(page.headers.location).forceAuthn, true, 'ForceAuthn: the IdP must authenticate the person again');

  await signIn(stack, browser, HOSTS.echo);
  t.equal((await browser.request(`http://${HOSTS.echo}/a`, { headers: JSON_ACCEPT })).status, 200, 'the new login restarts the clock');
});

t.test('a session invalidated in Crowd is refused once the cached answer expires (crowd.cacheTtlSeconds)', async (t) => {
  const time = clock();
  const stack = await startStack(t, { now: time.now, config: { crowd: { cacheTtlSeconds: 30 } } });
  const browser = stack.browser();
  await signIn(stack, browser, HOSTS.echo);
  t.equal((await browser.request(`http://${HOSTS.echo}/a`, { headers: JSON_ACCEPT })).status, 200);
  stack.crowd.invalidateAllSessions();
  t.equal((await browser.request(`http://${HOSTS.echo}/a`, { headers: JSON_ACCEPT })).status, 200, 'within the TTL the cached answer stands');
  time.advance(30_001);
  t.equal((await browser.request(`http://${HOSTS.echo}/a`, { headers: JSON_ACCEPT })).status, 401, 'after the TTL Crowd is asked again and says no');
});

t.test('step-up: an app requiring MFA asks for it, checks it, and steps up a weaker session', async (t) => {
  const stack = await startStack(t, { apps: { confluence: { requiredAuthnContext: { classRefs: [MFA], comparison: 'exact' } } } });
  const browser = stack.browser();
  await signIn(stack, browser, HOSTS.jira, { authnContextClassRef: PASSWORD });
  t.equal((await browser.request(`http://${HOSTS.jira}/browse/X-1`, { headers: HTML })).status, 200, 'the password session is fine for Jira');

  const xhr = await browser.request(`http://${HOSTS.confluence}/rest/api/content`, { headers: JSON_ACCEPT });
  t.equal(xhr.status, 401);
  t.match(JSON.parse(xhr.body), { reason: 'step-up' });
  const page = await followLoginStart(browser, await browser.request(`http://${HOSTS.confluence}/display/SEC`, { headers: HTML }));
  t.equal(page.status, 302, 'entering the MFA app: a new sign-in');
  const request = authnRequestOf(page.headers.location);
  t.same(request.requestedAuthnContext, [MFA], 'RequestedAuthnContext names the required class');
  t.equal(request.authnContextComparison, 'exact');

  const login = await startLogin(browser, `http://${HOSTS.confluence}/display/SEC`);
  const weak = await post(browser, login.acsUrl, { SAMLResponse: response(stack, login, { authnContextClassRef: PASSWORD }), RelayState: login.relayState });
  t.equal(weak.status, 403, 'an assertion without the required context is refused at the ACS');
  t.ok(stack.logs.some((line) => line.detail === 'authn_context'));

  const again = await startLogin(browser, `http://${HOSTS.confluence}/display/SEC`);
  const strong = await post(browser, again.acsUrl, { SAMLResponse: response(stack, again, { authnContextClassRef: MFA }), RelayState: again.relayState });
  t.equal(strong.status, 303);
  const landed = await browser.request(strong.headers.location as string, { headers: HTML });
  t.equal(landed.status, 200);
  t.match(landed.body, /Logged in as <b>alice<\/b>/, 'with MFA the app opens');
});

t.test('step-up through the demo IdP: the IdP answers the requested context, the user lands in the MFA app', async (t) => {
  const stack = await startStack(t, { apps: { confluence: { requiredAuthnContext: { classRefs: [MFA] } } } });
  const browser = stack.browser();
  const form = await browser.navigate(`http://${HOSTS.jira}/browse/X-1`);
  await browser.submitForm(await browser.submitForm(form, { username: 'alice', password: 'alice-pw' }));
  const autoPost = await browser.navigate(`http://${HOSTS.confluence}/display/SEC`);
  t.match(autoPost.body, /action="http:\/\/confluence\.sso\.test\/_sso\/saml\/acs"/, 'the IdP signs in again for the requested context (its session exists)');
  const landed = await browser.submitForm(autoPost);
  t.equal(landed.url, `http://${HOSTS.confluence}/display/SEC`);
  t.match(landed.body, /Logged in as <b>alice<\/b>/);
});
