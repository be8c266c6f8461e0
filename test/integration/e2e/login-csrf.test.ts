/**
 * Login CSRF: a SAML response and RelayState that an attacker got for a login the attacker started, posted from a
 * victim's browser, must not sign the victim in as the attacker. A login is bound to the browser that started it by
 * a nonce cookie whose hash is sealed in the RelayState; logins started in parallel each finish.
 */
import t from 'tap';
import { HOSTS, startStack } from '../../support/stack.js';
import { HTML, followLoginStart, post, response, startLogin } from '../../support/saml-login.js';

t.test("an attacker's response and RelayState posted from the victim's browser are refused with a way to sign in again", async (t) => {
  const stack = await startStack(t, { crowd: { consistentClientIp: true } });
  const attacker = stack.browser();
  const attackerLogin = await startLogin(attacker, `http://${HOSTS.jira}/browse/DEMO-1`);
  // The attacker's own IdP account (alice in this stack).
  const forged = { SAMLResponse: response(stack, attackerLogin, { nameId: 'alice' }), RelayState: attackerLogin.relayState };
  const sessionsBefore = stack.crowd.sessions.size;

  const victim = stack.browser();
  const refused = await post(victim, attackerLogin.acsUrl, forged);
  t.equal(refused.status, 400, 'refused');
  t.match(refused.body, /not started in this browser/, 'the page says why');
  t.match(refused.body, /href="\/_sso\/login\?return=http%3A%2F%2Fjira\.sso\.test%2Fbrowse%2FDEMO-1">Sign in again</, 'and links to a new sign-in');
  t.notOk(refused.headers['set-cookie']?.some((line) => line.startsWith('crowd.token_key=')), 'no Crowd cookie is set');
  t.notOk(victim.cookies.some((c) => c.name === 'crowd.token_key'), 'the victim holds no session');
  t.equal(stack.crowd.sessions.size, sessionsBefore, 'no Crowd session was created');
  t.match(stack.logs.find((line) => line.detail === 'browser_binding_absent'), { reason: 'relay_state_invalid' }, 'logged with its reason');

  // The victim had started a login of their own: its cookie does not finish the attacker's login either.
  const victimLogin = await startLogin(victim, `http://${HOSTS.confluence}/display/X`);
  t.equal((await post(victim, attackerLogin.acsUrl, forged)).status, 400, 'a binding cookie of another login does not help');
  // A cookie with the right name but another value (planted from a sibling host) is no better.
  victim.setCookie(HOSTS.jira, attackerLogin.binding.name, 'planted-value');
  t.equal((await post(victim, attackerLogin.acsUrl, forged)).status, 400, 'a planted cookie of that name is refused');
  t.ok(stack.logs.some((line) => line.detail === 'browser_binding_mismatch'), 'logged as a mismatch');

  // The attacker's own browser, and the victim's own login, work.
  const own = await post(victim, victimLogin.acsUrl, { SAMLResponse: response(stack, victimLogin), RelayState: victimLogin.relayState });
  t.equal(own.status, 303, "the victim's own login finishes");
  const attackersOwn = await post(attacker, attackerLogin.acsUrl, forged);
  t.equal(attackersOwn.status, 303, "the attacker's login finishes in the attacker's browser");
});

t.test('logins started in parallel in one browser each finish, and each clears its own cookie', async (t) => {
  const stack = await startStack(t);
  const browser = stack.browser();
  const first = await startLogin(browser, `http://${HOSTS.jira}/browse/DEMO-1`);
  const second = await startLogin(browser, `http://${HOSTS.jira}/browse/DEMO-2`);
  t.not(first.binding.name, second.binding.name, 'one cookie per login');

  const secondDone = await post(browser, second.acsUrl, { SAMLResponse: response(stack, second), RelayState: second.relayState });
  t.equal(secondDone.headers.location, `http://${HOSTS.jira}/browse/DEMO-2`);
  t.ok(secondDone.headers['set-cookie']?.some((line) => line.startsWith(`${second.binding.name}=;`) && /Max-Age=0/.test(line)), 'its cookie is cleared');
  const firstDone = await post(browser, first.acsUrl, { SAMLResponse: response(stack, first), RelayState: first.relayState });
  t.equal(firstDone.headers.location, `http://${HOSTS.jira}/browse/DEMO-1`, 'the other login still finishes');
  t.notOk(browser.cookies.some((c) => c.name.startsWith('crowd_sso_proxy_login_')), 'no binding cookie is left');
});

t.test('the binding cookie goes only to the ACS, and is SameSite=None; Secure where the IdP posts cross-site over https', async (t) => {
  const plain = await startStack(t);
  const plainBrowser = plain.browser();
  const plainStart = await followLoginStart(plainBrowser, await plainBrowser.request(`http://${HOSTS.jira}/browse/DEMO-1`, { headers: HTML }));
  const plainCookie = plainStart.headers['set-cookie']?.find((line) => line.startsWith('crowd_sso_proxy_login_')) ?? '';
  t.match(plainCookie, /^crowd_sso_proxy_login_[\w-]{12}=[\w-]{43}; Path=\/_sso\/saml\/acs; Max-Age=600; HttpOnly$/, `http: ${plainCookie}`);

  const https = await startStack(t, { config: { publicScheme: 'https' } });
  const httpsStart = await https.browser().request(`http://${HOSTS.jira}/_sso/login?return=${encodeURIComponent(`https://${HOSTS.jira}/browse/DEMO-1`)}`, { headers: HTML });
  const httpsCookie = httpsStart.headers['set-cookie']?.find((line) => line.startsWith('crowd_sso_proxy_login_')) ?? '';
  t.match(httpsCookie, /; Path=\/_sso\/saml\/acs; Max-Age=600; HttpOnly; Secure; SameSite=None$/, `https: ${httpsCookie}`);
});
