import { createHash } from 'node:crypto';
import t from 'tap';
import { createLoginStarter, hashBindingNonce, newRequestId } from '../../../src/flows/start-login.js';
import { FakeSaml, FakeSealer } from './fakes.js';

const RETURN = 'https://jira.example.com/browse/PROJ-1?focus=1';

function setup(forceAuthn = false) {
  const saml = new FakeSaml();
  const sealer = new FakeSealer();
  const cookies: { host: string; id: string; nonce: string }[] = [];
  const starter = createLoginStarter({
    saml,
    sealer,
    acsUrl: (host) => `https://${host}/_sso/saml/acs`,
    forceAuthn,
    bindingCookie: (host, id, nonce) => {
      cookies.push({ host, id, nonce });
      return `binding_${id}=${nonce}; Path=/_sso/saml/acs`;
    },
  });
  return { saml, sealer, cookies, starter };
}

t.test('request IDs: an underscore and 160 random bits in hex, never twice the same', async (t) => {
  const ids = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const id = newRequestId();
    t.match(id, /^_[0-9a-f]{40}$/);
    ids.add(id);
  }
  t.equal(ids.size, 50);
});

t.test('the binding hash is the base64url SHA-256 of the nonce', async (t) => {
  t.equal(hashBindingNonce('nonce'), createHash('sha256').update('nonce').digest('base64url'));
  t.match(hashBindingNonce('x'), /^[A-Za-z0-9_-]{43}$/);
});

t.test('a login: AuthnRequest to the ACS of the host, with the sealed state as RelayState', async (t) => {
  const { saml, sealer, cookies, starter } = setup();
  const started = await starter.start('jira.example.com', RETURN);

  t.equal(saml.loginRequests.length, 1);
  const [request] = saml.loginRequests;
  t.equal(request?.acsUrl, 'https://jira.example.com/_sso/saml/acs');
  t.match(request?.requestId, /^_[0-9a-f]{40}$/);
  t.equal(started.redirectUrl, `https://idp.example.com/sso?id=${request?.requestId}&RelayState=${request?.relayState}`, "the IdP's redirect URL as SAML built it");

  const state = await sealer.open(request?.relayState ?? '');
  t.equal(state.requestId, request?.requestId, 'the sealed request ID is the one sent');
  t.equal(state.returnUrl, RETURN, 'the return URL travels sealed');

  t.equal(cookies.length, 1);
  const [cookie] = cookies;
  t.equal(cookie?.host, 'jira.example.com', 'the cookie is for the host the login started on');
  t.same(state.browserBinding, { id: cookie?.id, nonceHash: hashBindingNonce(cookie?.nonce ?? '') }, 'the cookie id and the hash of its nonce are sealed');
  t.not(state.browserBinding?.nonceHash, cookie?.nonce, 'the nonce itself is not in the state');
  t.equal(started.setCookie, `binding_${cookie?.id}=${cookie?.nonce}; Path=/_sso/saml/acs`);
  t.match(cookie?.id, /^[A-Za-z0-9_-]{12}$/);
  t.match(cookie?.nonce, /^[A-Za-z0-9_-]{43}$/, '256 random bits');
});

t.test('each login gets its own request ID, cookie id and nonce (parallel logins)', async (t) => {
  const { saml, cookies, starter } = setup();
  await starter.start('jira.example.com', RETURN);
  await starter.start('jira.example.com', RETURN);
  t.not(saml.loginRequests[0]?.requestId, saml.loginRequests[1]?.requestId);
  t.not(cookies[0]?.id, cookies[1]?.id);
  t.not(cookies[0]?.nonce, cookies[1]?.nonce);
});

t.test('forceAuthn: from saml.forceAuthn or from the caller', async (t) => {
  const off = setup(false);
  await off.starter.start('h', RETURN);
  await off.starter.start('h', RETURN, { forceAuthn: false });
  await off.starter.start('h', RETURN, { forceAuthn: true });
  t.same(off.saml.loginRequests.map((request) => request.forceAuthn), [false, false, true]);

  const on = setup(true);
  await on.starter.start('h', RETURN);
  await on.starter.start('h', RETURN, { forceAuthn: false });
  t.same(on.saml.loginRequests.map((request) => request.forceAuthn), [true, true], 'saml.forceAuthn always asks');
});

t.test("the app's required authentication context is requested only when given", async (t) => {
  const { saml, starter } = setup();
  const authnContext = { classRefs: ['urn:example:mfa'], comparison: 'exact' as const };
  await starter.start('h', RETURN, { authnContext });
  await starter.start('h', RETURN, { authnContext: undefined });
  await starter.start('h', RETURN);
  t.same(saml.loginRequests[0]?.authnContext, authnContext);
  t.notOk('authnContext' in (saml.loginRequests[1] ?? {}), 'no RequestedAuthnContext key at all');
  t.notOk('authnContext' in (saml.loginRequests[2] ?? {}));
});

t.test('a sealer failure fails the start; no AuthnRequest is built', async (t) => {
  const saml = new FakeSaml();
  const starter = createLoginStarter({
    saml,
    sealer: {
      seal: async () => {
        throw new Error('no key');
      },
    },
    acsUrl: (host) => `https://${host}/acs`,
    forceAuthn: false,
    bindingCookie: () => 'c=1',
  });
  await t.rejects(starter.start('h', RETURN), /no key/);
  t.same(saml.loginRequests, []);
});
