/**
 * The whole login and logout round trip in a real browser (headless Chromium) against a real IdP (SimpleSAMLphp):
 * a Jira deep link with a fragment → SimpleSAMLphp's login form → back on exactly that deep link, fragment included, signed in; Confluence without a
 * second login; logging out through Jira's own logout link ends the session at the IdP too (single logout), so the
 * next deep link asks for the password again. Also: SimpleSAMLphp's default of unsigned logout messages, and a logout
 * started at SimpleSAMLphp (IdP-initiated single logout through the proxy's SLO endpoint).
 */
import { inflateRawSync } from 'node:zlib';
import t from 'tap';
import { readDemoKeyPair } from '../../../examples/demo/demo-keys.js';
import { chromiumAvailable } from '../../support/chromium.js';
import { SP_KEYS, loginAtIdp, simpleSamlPhpAvailable, startRealIdpStack } from '../../support/simplesamlphp.js';
import { HOSTS, SP_ENTITY_ID, SP_SLO_URL } from '../../support/stack.js';

const skip = simpleSamlPhpAvailable() ?? chromiumAvailable();
t.setTimeout(300_000);

const PRESETS = { jira: { preset: 'jira' }, confluence: { preset: 'confluence' } };
const ALICE = { username: 'alice', password: 'alice-pw', attributes: { email: 'alice@example.com' } };

t.test('a Jira deep link signs in at SimpleSAMLphp, Confluence follows without a login, logout ends the IdP session too', { skip, timeout: 120_000 }, async (t) => {
  const { stack, idp, chromium } = await startRealIdpStack(t, {
    idp: {
      sp: { entityId: SP_ENTITY_ID, sloUrl: SP_SLO_URL, certPem: readDemoKeyPair('sp').certPem },
      users: [ALICE],
    },
    stack: { config: { saml: SP_KEYS }, apps: PRESETS },
  });
  const { page } = await chromium.newPage();

  // The fragment never reaches a server: the proxy's login-start page carries it through the IdP in Chromium's
  // JavaScript, under the page's hash-only CSP.
  const deepLink = `http://${HOSTS.jira}/browse/DEMO-1?focusedCommentId=7#comment-7`;
  const cspViolations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  await page.goto(deepLink);
  // The login-start page sends the browser on with a script; wait until it is at the IdP.
  await page.waitForURL((url) => url.href.startsWith(`${idp.url}/`));
  t.ok(page.url().startsWith(`${idp.url}/`), `the browser was sent to SimpleSAMLphp (${page.url().slice(0, 70)})`);
  await loginAtIdp(page, 'alice', 'alice-pw');
  await page.waitForURL(deepLink);
  t.equal(page.url(), deepLink, 'back on exactly the deep link, its fragment included');
  t.same(cspViolations, [], 'the login-start page ran without a CSP violation');
  t.equal(await page.textContent('#user'), 'Logged in as alice', 'the Jira-like app validated the Crowd cookie and sees alice');

  const crowdCookies = (await page.context().cookies()).filter((cookie) => cookie.name === 'crowd.token_key');
  t.equal(crowdCookies.length, 1, 'one Crowd cookie in the browser');
  t.equal(crowdCookies[0]?.domain, '.sso.test', "on Crowd's SSO domain");
  const login = stack.logs.find((line) => line.event === 'login');
  t.match(login, { outcome: 'success', user: 'alice', app: 'jira' }, 'the login is logged');

  const confluenceUrl = `http://${HOSTS.confluence}/display/DEMO/Welcome`;
  await page.goto(confluenceUrl);
  t.equal(page.url(), confluenceUrl, 'Confluence opens without a detour through the IdP');
  t.equal(await page.textContent('#user'), 'Logged in as alice', 'the Confluence-like app accepts the same cookie');

  // Jira's own "Log out" link: the proxy ends the Crowd session and sends a signed LogoutRequest to SimpleSAMLphp,
  // whose signed LogoutResponse comes back to the proxy's single logout URL.
  await page.goto(`http://${HOSTS.jira}/browse/DEMO-1`);
  await Promise.all([page.waitForURL((url) => url.href.startsWith(SP_SLO_URL)), page.click('text=Log out')]);
  t.match(await page.textContent('body'), /signed out of the Atlassian applications and of your identity provider/, 'the signed-out page, after the IdP signed out too');
  t.equal((await page.context().cookies()).filter((cookie) => cookie.name === 'crowd.token_key').length, 0, "Crowd's cookie was cleared");
  t.equal([...stack.crowd.sessions.values()].filter((session) => session.username === 'alice').length, 0, 'the Crowd session was ended');
  t.match(stack.logs.find((line) => line.event === 'logout'), { app: 'jira', user: 'alice', sessions: 1 });

  const nextLink = `http://${HOSTS.jira}/browse/DEMO-2?focusedCommentId=9`;
  const authnRequests: string[] = [];
  page.on('request', (request) => {
    const sent = new URL(request.url());
    const message = sent.searchParams.get('SAMLRequest');
    if (sent.origin === idp.url && message !== null) authnRequests.push(inflateRawSync(Buffer.from(message, 'base64')).toString('utf8'));
  });
  await page.goto(nextLink);
  t.ok(page.url().startsWith(`${idp.url}/`), 'the next deep link goes to the IdP');
  t.equal(authnRequests.length, 1, 'with one AuthnRequest');
  t.notMatch(authnRequests[0], /ForceAuthn="true"/, 'that does not force a new authentication (so a password prompt means the IdP session is gone)');
  t.ok(await page.isVisible('input[name="password"]'), 'SimpleSAMLphp asks for the password again: its session ended with single logout');
  await loginAtIdp(page, 'alice', 'alice-pw');
  await page.waitForURL(nextLink);
  t.equal(await page.textContent('#user'), 'Logged in as alice', 'and signing in again lands on that deep link');
});

t.test("SimpleSAMLphp's default, unsigned logout messages: the proxy refuses the LogoutResponse, the user is signed out all the same", { skip, timeout: 120_000 }, async (t) => {
  const { stack, idp, chromium } = await startRealIdpStack(t, {
    idp: {
      sp: { entityId: SP_ENTITY_ID, sloUrl: SP_SLO_URL, certPem: readDemoKeyPair('sp').certPem },
      users: [ALICE],
      signLogout: false,
    },
    stack: { config: { saml: SP_KEYS }, apps: PRESETS },
  });
  const { page } = await chromium.newPage();
  const deepLink = `http://${HOSTS.jira}/browse/DEMO-1`;
  await page.goto(deepLink);
  await loginAtIdp(page, 'alice', 'alice-pw');
  await page.waitForURL(deepLink);
  t.equal(await page.textContent('#user'), 'Logged in as alice');

  const sloAnswer = page.waitForResponse((res) => res.url().startsWith(`${SP_SLO_URL}?`));
  await page.click('text=Log out');
  const slo = await sloAnswer;
  t.equal(slo.status(), 403, "the unsigned LogoutResponse is refused (the proxy requires signed logout messages)");
  t.notOk(new URL(slo.url()).searchParams.has('Signature'), 'SimpleSAMLphp sent it without a signature');
  await page.waitForURL((url) => url.href.startsWith(SP_SLO_URL));
  const shown = (await page.textContent('body')) ?? '';
  t.match(shown, /Signed out/, 'the signed-out page (the proxy had ended the session before the browser went to the IdP)');
  t.match(shown, /answer from your identity provider could not be verified/, 'the page says why the IdP may still remember the user');
  t.notMatch(shown, /signed out of the Atlassian applications and of your identity provider/, 'and does not claim the IdP signed out');
  t.notMatch(shown, /Sign-in failed/, 'not a sign-in failure');
  const refusal = stack.logs.find((line) => line.code === 'ERR_SAML_SIGNATURE');
  t.match(refusal, { detail: 'unsigned', status: 403 }, 'the log names the missing signature');
  t.match(refusal?.msg, /sign\.logout/, 'and what to configure at SimpleSAMLphp');

  // The proxy's own part was done before the browser went to the IdP.
  t.equal((await page.context().cookies()).filter((cookie) => cookie.name === 'crowd.token_key').length, 0, "Crowd's cookie was cleared");
  t.equal([...stack.crowd.sessions.values()].length, 0, 'the Crowd session was ended');
  await page.goto(`http://${HOSTS.confluence}/display/DEMO/Welcome`);
  t.ok(page.url().startsWith(`${idp.url}/`), 'Confluence no longer lets the browser in');
  t.ok(await page.isVisible('input[name="password"]'), "SimpleSAMLphp did end its session (it verified the proxy's signed LogoutRequest)");
});

t.test('logging out at SimpleSAMLphp (IdP-initiated single logout) ends the Crowd session through the proxy', { skip, timeout: 120_000 }, async (t) => {
  const { stack, idp, chromium } = await startRealIdpStack(t, {
    idp: { sp: { entityId: SP_ENTITY_ID, sloUrl: SP_SLO_URL, certPem: readDemoKeyPair('sp').certPem }, users: [ALICE] },
    stack: { config: { saml: SP_KEYS }, apps: PRESETS },
  });
  const { page } = await chromium.newPage();
  const deepLink = `http://${HOSTS.jira}/browse/DEMO-1`;
  await page.goto(deepLink);
  await loginAtIdp(page, 'alice', 'alice-pw');
  await page.waitForURL(deepLink);
  t.equal(await page.textContent('#user'), 'Logged in as alice');
  t.equal([...stack.crowd.sessions.values()].length, 1, 'a Crowd session');

  // SimpleSAMLphp's own logout endpoint: it sends a signed LogoutRequest to the proxy, which answers with a signed
  // LogoutResponse back to SimpleSAMLphp, which then sends the browser to ReturnTo.
  const sloAnswers: number[] = [];
  page.on('response', (res) => {
    if (res.url().startsWith(`${SP_SLO_URL}?`)) sloAnswers.push(res.status());
  });
  const returnTo = `http://${HOSTS.confluence}/display/DEMO/Welcome`;
  await page.goto(`${idp.url}/saml2/idp/SingleLogoutService.php?ReturnTo=${encodeURIComponent(returnTo)}`);
  // ReturnTo (Confluence) has no Crowd session any more, and SimpleSAMLphp none either: its login form again.
  await page.waitForSelector('input[name="password"]');
  t.ok(page.url().startsWith(`${idp.url}/module.php/core/loginuserpass.php`), 'after ReturnTo, Confluence sends the browser to the login form');
  t.same(sloAnswers, [302], "the proxy answered SimpleSAMLphp's LogoutRequest once, with a redirect");
  t.match(stack.logs.find((line) => line.event === 'logout'), { outcome: 'success', nameId: 'alice', sessions: 1 }, 'the proxy ended the SAML session of alice');
  t.equal([...stack.crowd.sessions.values()].length, 0, 'the Crowd session was ended');
  t.equal((await page.context().cookies()).filter((cookie) => cookie.name === 'crowd.token_key').length, 0, "Crowd's cookie was cleared");
  const idpLog = idp.logs();
  t.match(idpLog, /Received SAML 2\.0 LogoutResponse from: 'http:\/\/sso\.test\/_sso\/saml\/metadata'/, "SimpleSAMLphp accepted the proxy's LogoutResponse");
  t.notMatch(idpLog, /SimpleSAMLphp (ERROR|WARNING)/, 'and logged no error or warning');
});
