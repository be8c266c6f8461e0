import t from 'tap';
import { readDemoKeyPair } from '../../../examples/demo/demo-keys.js';
import { parseAuthnRequest, type SamlResponseOptions } from '../../../examples/demo/saml-response.js';
import { HTML, holdingBinding, post, response, startLogin, type StartedLogin } from '../../support/saml-login.js';
import { HOSTS, startStack } from '../../support/stack.js';

const attackerKeys = readDemoKeyPair('attacker');

t.test('each SAML defect is refused with a page, a reference and no session', async (t) => {
  const stack = await startStack(t);
  const deepLink = `http://${HOSTS.jira}/browse/DEMO-7`;

  const cases: [string, (login: StartedLogin) => Partial<SamlResponseOptions>, number, string][] = [
    ['unsigned', () => ({ sign: 'none' }), 403, 'saml_signature'],
    ['signed by a key the IdP metadata does not list', () => ({ privateKeyPem: attackerKeys.keyPem, certPem: attackerKeys.certPem }), 403, 'saml_signature'],
    ['wrong audience', () => ({ audience: 'https://other-sp.example.com' }), 403, 'saml_conditions'],
    ['expired', () => ({ notBefore: new Date(Date.now() - 3_600_000), notOnOrAfter: new Date(Date.now() - 1_800_000), issueInstant: new Date(Date.now() - 3_600_000) }), 403, 'saml_conditions'],
    ['not yet valid', () => ({ notBefore: new Date(Date.now() + 600_000) }), 403, 'saml_conditions'],
    ['for another ACS (Destination)', () => ({ destination: `http://${HOSTS.confluence}/_sso/saml/acs` }), 403, 'saml_conditions'],
    ['for another login (InResponseTo)', () => ({ inResponseTo: '_someOtherRequest' }), 403, 'saml_conditions'],
    ['from another issuer', () => ({ issuer: 'https://evil-idp.example.net/' }), 403, 'saml_conditions'],
    ['IdP said no', () => ({ statusCode: 'urn:oasis:names:tc:SAML:2.0:status:Responder', withoutAssertion: true, sign: 'response' }), 403, 'idp_status'],
  ];
  for (const [name, change, status, reason] of cases) {
    const browser = stack.browser();
    const login = await startLogin(browser, deepLink);
    const res = await post(browser, login.acsUrl, { SAMLResponse: response(stack, login, change(login)), RelayState: login.relayState });
    t.equal(res.status, status, `${name}: status`);
    t.match(res.body, /Reference: <code>[0-9a-f-]{36}<\/code>/, `${name}: the page shows a reference`);
    t.notOk(res.headers['set-cookie'], `${name}: no cookie`);
    const logged = stack.logs.find((line) => line.reason === reason && res.body.includes(String(line.reqId)));
    t.ok(logged, `${name}: logged with reason ${reason} and the same reference`);
  }
  t.equal(stack.crowd.countCalls('POST', '/session?'), 0, 'no Crowd session was ever created');
});

t.test('an assertion is accepted once: a replay gets 403', async (t) => {
  const stack = await startStack(t);
  const browser = stack.browser();
  const login = await startLogin(browser, `http://${HOSTS.jira}/browse/DEMO-1`);
  const saml = response(stack, login);
  const first = await post(browser, login.acsUrl, { SAMLResponse: saml, RelayState: login.relayState });
  t.equal(first.status, 303);
  t.equal(first.headers.location, `http://${HOSTS.jira}/browse/DEMO-1`);
  // Posted from a browser that also holds the login-binding cookie: only the replay cache stops it.
  const replay = await post(holdingBinding(stack.browser(), login), login.acsUrl, { SAMLResponse: saml, RelayState: login.relayState });
  t.equal(replay.status, 403);
  t.ok(stack.logs.some((line) => line.reason === 'saml_replay'));
});

t.test('tampered or foreign RelayState, and unsolicited responses while disabled, are refused', async (t) => {
  const stack = await startStack(t);
  const browser = stack.browser();
  const login = await startLogin(browser, `http://${HOSTS.jira}/browse/DEMO-1`);
  const tampered = login.relayState.slice(0, -4) + (login.relayState.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  const res = await post(browser, login.acsUrl, { SAMLResponse: response(stack, login), RelayState: tampered });
  t.equal(res.status, 400);
  t.match(res.body, /Sign-in expired/);

  const unsolicited = await post(browser, login.acsUrl, { SAMLResponse: response(stack, login, { inResponseTo: undefined }) });
  t.equal(unsolicited.status, 400, 'no RelayState and saml.allowIdpInitiated off');
  t.ok(stack.logs.some((line) => line.detail === 'unsolicited_disabled'));
});

t.test('return URLs: only configured hosts, never elsewhere', async (t) => {
  const stack = await startStack(t);
  const browser = stack.browser();
  for (const target of ['https://evil.example.net/', '//evil.example.net/x', `http://${HOSTS.jira}@evil.example.net/`]) {
    const res = await browser.request(`http://${HOSTS.jira}/_sso/login?return=${encodeURIComponent(target)}`, { headers: HTML });
    t.equal(res.status, 302);
    const relayState = new URL(res.headers.location as string).searchParams.get('RelayState') as string;
    const request = parseAuthnRequest(new URL(res.headers.location as string).searchParams.get('SAMLRequest') as string);
    const done = await post(browser, request.acsUrl as string, {
      SAMLResponse: response(stack, { requestId: request.id, acsUrl: request.acsUrl as string }),
      RelayState: relayState,
    });
    t.equal(done.status, 303);
    t.equal(done.headers.location, `http://${HOSTS.jira}/secure/Dashboard.jspa`, `${target} → the app's start page instead`);
  }
  const ok = await browser.request(`http://${HOSTS.jira}/_sso/login?return=${encodeURIComponent(`http://${HOSTS.confluence}/display/X`)}`, { headers: HTML });
  t.equal(ok.status, 302, 'another configured host is a fine return URL');
});

t.test('an oversized ACS post gets 413, a wrong content type 400, a GET 405', async (t) => {
  const stack = await startStack(t, { config: { saml: { acsMaxBytes: 10_000 } } });
  const browser = stack.browser();
  const acs = stack.acsUrl(HOSTS.jira);
  const big = await post(browser, acs, { SAMLResponse: 'A'.repeat(20_000) });
  t.equal(big.status, 413);
  const json = await browser.request(acs, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: '{}' });
  t.equal(json.status, 400);
  t.match(JSON.parse(json.body), { error: 'ERR_BAD_REQUEST', reason: 'malformed_request' });
  const get = await browser.request(acs, { headers: HTML });
  t.equal(get.status, 405);
  const garbage = await post(browser, acs, { SAMLResponse: '%%%not-base64%%%', RelayState: '' });
  t.equal(garbage.status, 400, 'garbage with no RelayState');
});

t.test('identity outcomes: unknown user → no-account page; inactive user → access denied', async (t) => {
  const stack = await startStack(t);
  for (const [nameId, status, text] of [
    ['dave', 403, /no matching account/],
    ['carol', 403, /deactivated/],
  ] as const) {
    const browser = stack.browser();
    const login = await startLogin(browser, `http://${HOSTS.jira}/`);
    const res = await post(browser, login.acsUrl, { SAMLResponse: response(stack, login, { nameId }), RelayState: login.relayState });
    t.equal(res.status, status, nameId);
    t.match(res.body, text, nameId);
  }
});

t.test('IdP-initiated (unsolicited) login, when enabled, lands on the app start page or a RelayState on a configured host', async (t) => {
  const stack = await startStack(t, { config: { saml: { allowIdpInitiated: true } } });
  const acsUrl = stack.acsUrl(HOSTS.jira);
  const unsolicited = { requestId: '', relayState: '', acsUrl };
  const landing = await post(stack.browser(), acsUrl, { SAMLResponse: response(stack, unsolicited, { inResponseTo: undefined }) });
  t.equal(landing.status, 303);
  t.equal(landing.headers.location, `http://${HOSTS.jira}/secure/Dashboard.jspa`, "the app's startPath");
  t.ok(landing.headers['set-cookie'], 'signed in');

  const deep = await post(stack.browser(), acsUrl, {
    SAMLResponse: response(stack, unsolicited, { inResponseTo: undefined }),
    RelayState: `http://${HOSTS.confluence}/display/X`,
  });
  t.equal(deep.headers.location, `http://${HOSTS.confluence}/display/X`, 'a RelayState URL on a configured host is honoured');
  const foreign = await post(stack.browser(), acsUrl, {
    SAMLResponse: response(stack, unsolicited, { inResponseTo: undefined }),
    RelayState: 'https://evil.example.net/',
  });
  t.equal(foreign.headers.location, `http://${HOSTS.jira}/secure/Dashboard.jspa`, 'a foreign RelayState is ignored');

  const starter = stack.browser();
  const login = await startLogin(starter, `http://${HOSTS.jira}/x`);
  const solicitedWithoutId = await post(starter, login.acsUrl, { SAMLResponse: response(stack, login, { inResponseTo: undefined }), RelayState: login.relayState });
  t.equal(solicitedWithoutId.status, 403, 'a response without InResponseTo is not accepted for a login the proxy started');
});
