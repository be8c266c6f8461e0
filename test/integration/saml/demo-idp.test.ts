/**
 * The demo IdP end to end over real sockets, with the real service provider on the other side:
 * metadata, login form, signed response, the IdP session that signs the user in to a second app
 * without a password, ForceAuthn, logout, and escaping of everything echoed into HTML.
 */
import t from 'tap';
import { startDemoIdp, type DemoUser } from '../../../examples/demo/demo-idp.js';
import type { ServiceProvider } from '../../../src/saml/service-provider.js';
import { ACS_URL, OTHER_ACS_URL, createTestSp, idpKeys, newSamlId } from '../../support/saml-test-kit.js';

const alice: DemoUser = { username: 'alice', password: 'alice-secret', email: 'alice@example.test', firstName: 'Alice', lastName: 'Liddell', groups: ['jira-users'] };
const mallory: DemoUser = { username: 'mallory<b>', password: 'x', email: 'm@example.test', firstName: '"Mal"', lastName: '<script>', groups: [] };

const idp = await startDemoIdp({ keyPem: idpKeys.keyPem, certPem: idpKeys.certPem, users: [alice, mallory] });
t.teardown(() => idp.close());
const sp: ServiceProvider = await createTestSp({ idp: { kind: 'metadata-url', url: idp.metadataUrl } });
t.teardown(() => sp.close());

const HTML_ENTITIES: Readonly<Record<string, string>> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&apos;': "'" };
const unescapeHtml = (text: string): string => text.replace(/&(amp|lt|gt|quot|apos);/g, (entity) => HTML_ENTITIES[entity] ?? entity);

function field(html: string, name: string): string | undefined {
  const match = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)">`).exec(html);
  return match?.[1] === undefined ? undefined : unescapeHtml(match[1]);
}

function formAction(html: string): string | undefined {
  const match = /<form method="post" action="([^"]*)">/.exec(html);
  return match?.[1] === undefined ? undefined : unescapeHtml(match[1]);
}

/** Starts a login at the proxy's SP for `acsUrl` and follows it to the IdP with the browser's cookie. */
async function startLogin(acsUrl: string, options: { cookie?: string; forceAuthn?: boolean; relayState?: string } = {}) {
  const requestId = newSamlId();
  const { redirectUrl } = await sp.createLoginRequest({ acsUrl, requestId, relayState: options.relayState ?? 'state', forceAuthn: options.forceAuthn === true });
  const response = await fetch(redirectUrl, { headers: options.cookie === undefined ? {} : { cookie: options.cookie }, redirect: 'manual' });
  return { requestId, status: response.status, html: await response.text(), headers: response.headers };
}

async function submitLogin(loginPage: string, username: string, password: string) {
  const body = new URLSearchParams({ username, password, SAMLRequest: field(loginPage, 'SAMLRequest') ?? '', RelayState: field(loginPage, 'RelayState') ?? '' });
  const response = await fetch(`${idp.url}/sso/login`, { method: 'POST', body, redirect: 'manual' });
  return { status: response.status, html: await response.text(), cookie: (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '' };
}

let browserCookie = '';

t.test('the IdP publishes metadata the service provider loads', async (t) => {
  t.equal(sp.idp.entityId, idp.entityId);
  t.equal(sp.idp.ssoUrl, idp.ssoUrl);
  const response = await fetch(idp.metadataUrl);
  t.match(response.headers.get('content-type'), /application\/samlmetadata\+xml/);
});

t.test('a first login shows the form (users listed, everything escaped) and refuses a wrong password', async (t) => {
  const login = await startLogin(ACS_URL, { relayState: '"><script>alert(1)</script>' });
  t.equal(login.status, 200);
  t.match(login.html, /name="password"/);
  t.match(login.html, /<code>alice<\/code>/);
  t.notMatch(login.html, /<script>alert|mallory<b>|<script>\)/);
  t.equal(field(login.html, 'RelayState'), '"><script>alert(1)</script>');
  t.match(login.headers.get('content-security-policy'), /script-src 'none'/);
  const wrong = await submitLogin(login.html, 'alice', 'guess');
  t.equal(wrong.status, 401);
  t.equal(wrong.cookie, '');
  t.match(wrong.html, /wrong password/);
});

t.test('the right password yields an auto-posting form with a signed response the SP accepts', async (t) => {
  const login = await startLogin(ACS_URL, { relayState: 'relay&state' });
  const signedIn = await submitLogin(login.html, 'alice', 'alice-secret');
  t.equal(signedIn.status, 200);
  t.match(signedIn.cookie, /^demo_idp_session=.+/);
  browserCookie = signedIn.cookie;
  t.equal(formAction(signedIn.html), ACS_URL);
  t.equal(field(signedIn.html, 'RelayState'), 'relay&state');
  t.match(signedIn.html, /<button type="submit">Continue<\/button>/, 'works without JavaScript');
  const profile = await sp.validateResponse({ samlResponse: field(signedIn.html, 'SAMLResponse') ?? '', acsUrl: ACS_URL, expectedRequestId: login.requestId });
  t.equal(profile.nameId, 'alice');
  t.same(profile.attributes.mail, ['alice@example.test']);
  t.same(profile.attributes.isMemberOf, ['jira-users']);
  t.same(profile.attributes.displayName, ['Alice Liddell']);
});

t.test('a second app in the same browser is signed in at once, without the login form', async (t) => {
  const second = await startLogin(OTHER_ACS_URL, { cookie: browserCookie });
  t.equal(second.status, 200);
  t.notMatch(second.html, /name="password"/);
  t.equal(formAction(second.html), OTHER_ACS_URL);
  const profile = await sp.validateResponse({ samlResponse: field(second.html, 'SAMLResponse') ?? '', acsUrl: OTHER_ACS_URL, expectedRequestId: second.requestId });
  t.equal(profile.nameId, 'alice');
  t.equal(profile.inResponseTo, second.requestId);
});

t.test('ForceAuthn="true" shows the login form despite the IdP session', async (t) => {
  const forced = await startLogin(ACS_URL, { cookie: browserCookie, forceAuthn: true });
  t.match(forced.html, /name="password"/);
});

t.test('after logout at the IdP the login form is shown again', async (t) => {
  const response = await fetch(`${idp.url}/logout`, { headers: { cookie: browserCookie } });
  t.match(response.headers.get('set-cookie'), /Max-Age=0/);
  const again = await startLogin(ACS_URL, { cookie: browserCookie });
  t.match(again.html, /name="password"/);
});

t.test('a broken SAMLRequest is answered 400 with the reason escaped', async (t) => {
  const response = await fetch(`${idp.ssoUrl}?SAMLRequest=${encodeURIComponent('<script>')}`);
  t.equal(response.status, 400);
  t.notMatch(await response.text(), /<script>/);
});
