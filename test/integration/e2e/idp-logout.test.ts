/**
 * IdP-initiated single logout at /_sso/saml/slo: a LogoutRequest signed by the IdP (HTTP-Redirect or HTTP-POST
 * binding) ends exactly the Crowd sessions of that SAML session (NameID + SessionIndex) and is answered with a
 * signed LogoutResponse; forged, unsigned, replayed or misdirected ones are refused with 403.
 */
import { createPrivateKey } from 'node:crypto';
import { join } from 'node:path';
import t from 'tap';
import type { IdpOutgoingMessage } from '../../../examples/demo/demo-idp.js';
import { demoKeysDir, readDemoKeyPair } from '../../../examples/demo/demo-keys.js';
import { parseLogoutRequestXml } from '../../../examples/demo/saml-response.js';
import { logoutResponseXml } from '../../../src/saml/logout-messages.js';
import { buildRedirectUrl, deflateSamlMessage, readRedirectMessage } from '../../../src/saml/redirect-binding.js';
import { SAML_URI } from '../../../src/saml/saml-uris.js';
import type { Browser, BrowserResponse } from '../../support/browser.js';
import { HTML, loginAs, post, response, startLogin } from '../../support/saml-login.js';
import { HOSTS, SP_SLO_URL, startStack, type Stack } from '../../support/stack.js';

const SP_KEYS = { spPrivateKey: { file: join(demoKeysDir(), 'sp.key') }, spCertificateFile: join(demoKeysDir(), 'sp.crt') };
const spCert = readDemoKeyPair('sp').certPem;
const attacker = readDemoKeyPair('attacker');

function start(t: Parameters<typeof startStack>[0]): Promise<Stack> {
  return startStack(t, {
    // The test sends X-Forwarded-For as a load balancer would: different clients get different Crowd sessions.
    config: { trustedProxies: ['127.0.0.1'], saml: SP_KEYS },
    crowd: {
      users: [
        { name: 'alice', password: 'x', email: 'alice@example.com', firstName: 'Alice', lastName: 'Adams' },
        { name: 'bob', password: 'x', email: 'bob@example.com', firstName: 'Bob', lastName: 'Brown' },
      ],
    },
  });
}

/** Signs `nameId` in from `clientIp` with a SAML session `sessionIndex`; returns the Crowd token. */
async function signIn(stack: Stack, browser: Browser, nameId: string, sessionIndex: string, clientIp: string): Promise<string> {
  const login = await startLogin(browser, `http://${HOSTS.jira}/`);
  const res = await browser.request(login.acsUrl, {
    method: 'POST',
    headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': clientIp },
    body: new URLSearchParams({ SAMLResponse: response(stack, login, { nameId, sessionIndex }), RelayState: login.relayState }).toString(),
  });
  if (res.status !== 303) throw new Error(`login failed: ${res.status} ${res.body.slice(0, 200)}`);
  return browser.cookies.find((cookie) => cookie.name === 'crowd.token_key')?.value as string;
}

/** Delivers an IdP message through the browser, as the IdP's page would (redirect or auto-posted form). */
function deliver(browser: Browser, message: IdpOutgoingMessage): Promise<BrowserResponse> {
  if (message.binding === 'redirect') return browser.request(message.url, { headers: HTML });
  return post(browser, message.url, message.fields);
}

t.test('Redirect binding: exactly the named SAML session ends, and a signed LogoutResponse goes back to the IdP', async (t) => {
  const stack = await start(t);
  const [a, b, c] = [stack.browser(), stack.browser(), stack.browser()];
  const tokenA = await signIn(stack, a, 'alice', '_a1', '10.0.0.1');
  const tokenB = await signIn(stack, b, 'alice', '_a2', '10.0.0.2');
  const tokenC = await signIn(stack, c, 'bob', '_b1', '10.0.0.3');
  t.equal(new Set([tokenA, tokenB, tokenC]).size, 3, 'three Crowd sessions');

  const request = stack.idp.logoutRequest({ nameId: 'alice', sessionIndex: '_a1', binding: 'redirect', relayState: 'idp-state-1' });
  const res = await deliver(a, request);
  t.equal(res.status, 302, 'answered with a redirect to the IdP');
  const location = new URL(res.headers.location as string);
  t.equal(`${location.origin}${location.pathname}`, stack.idp.sloUrl);
  t.equal(location.searchParams.get('RelayState'), 'idp-state-1', "the IdP's RelayState comes back");
  const answer = readRedirectMessage(location.search.slice(1), [spCert], 64 * 1024);
  t.equal(answer.param, 'SAMLResponse', 'a LogoutResponse signed with the SP key');
  const sentId = parseLogoutRequestXml(requestXml(request)).id;
  t.match(answer.xml, `InResponseTo="${sentId}"`);
  t.match(answer.xml, 'urn:oasis:names:tc:SAML:2.0:status:Success');

  t.notOk(stack.crowd.sessions.has(tokenA), "alice's session _a1 ended in Crowd");
  t.ok(stack.crowd.sessions.has(tokenB), "alice's other SAML session _a2 is untouched");
  t.ok(stack.crowd.sessions.has(tokenC), "bob's session is untouched");
  t.equal(a.cookies.find((cookie) => cookie.name === 'crowd.token_key'), undefined, "the delivering browser's Crowd cookie was cleared");
  t.match(stack.logs.find((line) => line.msg === 'IdP-initiated logout: 1 SSO session(s) ended'), { event: 'logout', nameId: 'alice', sessions: 1 });

  const api = await b.request(`http://${HOSTS.echo}/rest/x`, { headers: { accept: 'application/json', 'x-forwarded-for': '10.0.0.2' } });
  t.equal(api.status, 200, 'the other session still works');

  const metadata = await b.request(`http://${HOSTS.confluence}/_sso/saml/metadata`);
  for (const binding of [SAML_URI.bindingRedirect, SAML_URI.bindingPost]) {
    t.match(metadata.body, `<md:SingleLogoutService Binding="${binding}" Location="${SP_SLO_URL}"/>`, `the SP metadata lists the SLO URL (${binding.split(':').pop()})`);
  }
});

t.test('POST binding without SessionIndex: every session of that NameID ends', async (t) => {
  const stack = await start(t);
  const [a, b, c] = [stack.browser(), stack.browser(), stack.browser()];
  const tokenA = await signIn(stack, a, 'alice', '_a1', '10.0.0.1');
  const tokenB = await signIn(stack, b, 'alice', '_a2', '10.0.0.2');
  const tokenC = await signIn(stack, c, 'bob', '_b1', '10.0.0.3');
  const res = await deliver(c, stack.idp.logoutRequest({ nameId: 'alice', binding: 'post' }));
  t.equal(res.status, 302);
  t.notOk(stack.crowd.sessions.has(tokenA));
  t.notOk(stack.crowd.sessions.has(tokenB));
  t.ok(stack.crowd.sessions.has(tokenC), "bob's session is untouched");
  t.ok(c.cookies.some((cookie) => cookie.name === 'crowd.token_key'), "bob's browser keeps its cookie (it was not his session)");
});

t.test('forged, unsigned, replayed and misdirected LogoutRequests are refused with 403; no session ends', async (t) => {
  const stack = await start(t);
  const browser = stack.browser();
  const token = await signIn(stack, browser, 'alice', '_a1', '10.0.0.1');
  const cases: [string, IdpOutgoingMessage][] = [
    ['forged (Redirect, attacker key)', stack.idp.logoutRequest({ nameId: 'alice', binding: 'redirect', signingKeyPem: attacker.keyPem })],
    ['forged (POST, attacker key)', stack.idp.logoutRequest({ nameId: 'alice', binding: 'post', signingKeyPem: attacker.keyPem })],
    ['unsigned (Redirect)', stack.idp.logoutRequest({ nameId: 'alice', binding: 'redirect', signingKeyPem: null })],
    ['unsigned (POST)', stack.idp.logoutRequest({ nameId: 'alice', binding: 'post', signingKeyPem: null })],
    ['another Destination', stack.idp.logoutRequest({ nameId: 'alice', binding: 'redirect', destination: 'http://elsewhere.example/_sso/saml/slo' })],
  ];
  for (const [name, message] of cases) {
    // Delivered to the proxy's SLO URL whatever the message says.
    const delivered = message.binding === 'redirect' ? { ...message, url: `${SP_SLO_URL}?${new URL(message.url).search.slice(1)}` } : { ...message, url: SP_SLO_URL };
    const res = await deliver(browser, delivered);
    t.equal(res.status, 403, name);
    t.match(res.body, /Reference/, `${name}: an error page with a reference`);
  }
  t.ok(stack.crowd.sessions.has(token), 'the session survived every refused message');
  const reasons = stack.logs.filter((line) => line.status === 403 && line.code !== undefined).map((line) => `${String(line.reason)}/${String(line.detail)}`);
  t.same(reasons, ['saml_signature/signature', 'saml_signature/signature', 'saml_signature/unsigned', 'saml_signature/unsigned', 'saml_conditions/destination']);

  const once = stack.idp.logoutRequest({ nameId: 'alice', sessionIndex: '_a1', binding: 'redirect' });
  t.equal((await deliver(browser, once)).status, 302, 'a genuine one is accepted');
  t.equal((await deliver(browser, once)).status, 403, 'and refused when replayed');
  t.notOk(stack.crowd.sessions.has(token));
});

/** The LogoutRequest XML inside a Redirect-binding message built by the demo IdP. */
function requestXml(message: IdpOutgoingMessage): string {
  if (message.binding !== 'redirect') throw new TypeError('redirect only');
  return readRedirectMessage(new URL(message.url).search.slice(1), [readDemoKeyPair('idp').certPem], 64 * 1024).xml;
}

t.test('a signed LogoutResponse that answers no logout of this browser ends on the signed-out page, logged', async (t) => {
  const stack = await start(t);
  const xml = logoutResponseXml({ id: '_resp1', issuer: stack.idp.entityId, destination: SP_SLO_URL, issueInstant: new Date(), inResponseTo: '_unknown', partial: false });
  const url = buildRedirectUrl(SP_SLO_URL, 'SAMLResponse', deflateSamlMessage(xml), 'not-a-sealed-state', createPrivateKey(readDemoKeyPair('idp').keyPem));
  const res = await stack.browser().request(url, { headers: HTML });
  t.equal(res.status, 200);
  t.match(res.body, /Signed out/);
  t.ok(stack.logs.some((line) => line.reason === 'slo_unmatched' && line.level === 40));
});

t.test("an unverifiable LogoutResponse: a browser already signed out here sees the signed-out page (403), a signed-in one the refusal", async (t) => {
  const stack = await start(t);
  const xml = logoutResponseXml({ id: '_resp2', issuer: stack.idp.entityId, destination: SP_SLO_URL, issueInstant: new Date(), inResponseTo: '_mine', partial: false });
  const unsigned = buildRedirectUrl(SP_SLO_URL, 'SAMLResponse', deflateSamlMessage(xml), 'not-a-sealed-state', undefined);
  const signedOut = await stack.browser().request(unsigned, { headers: HTML });
  t.equal(signedOut.status, 403, 'refused');
  t.match(signedOut.body, /<h1>Signed out<\/h1>/, 'yet the page says what is true: the proxy ended the session before the browser left');
  t.match(signedOut.body, /could not be verified, so it may still remember you/);
  t.notMatch(signedOut.body, /Sign-in failed/);
  t.match(stack.logs.find((line) => line.code === 'ERR_SAML_SIGNATURE' && line.level === 40), { detail: 'unsigned' }, 'logged with the reason');

  // A browser that still holds a Crowd cookie did not come from the proxy's logout: nothing claims it is signed out.
  const signedIn = stack.browser();
  await loginAs(stack, signedIn, HOSTS.jira);
  const refused = await signedIn.request(unsigned, { headers: HTML });
  t.equal(refused.status, 403);
  t.notMatch(refused.body, /<h1>Signed out<\/h1>/);
  t.match(refused.body, /could not be verified/);
  t.ok(signedIn.cookies.some((cookie) => cookie.name === 'crowd.token_key'), 'and nothing was ended');
});
