/** AuthnRequest (HTTP-Redirect binding): content, request ID, ForceAuthn, and the query signature. */
import { verify } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import t from 'tap';
import { ConfigError } from '../../../src/errors.js';
import { parseAuthnRequest } from '../../../examples/demo/saml-response.js';
import { ACS_URL, SP_ENTITY_ID, SSO_URL, attackerKeys, createTestSp, newSamlId, spKeys } from '../../support/saml-test-kit.js';

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';

/** Raw query parameters, without decoding (what an IdP verifies the signature over). */
function rawParams(url: string): Map<string, string> {
  const query = url.slice(url.indexOf('?') + 1);
  return new Map(query.split('&').map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)] as [string, string]));
}

function verifiesWith(url: string, certPem: string): boolean {
  const raw = rawParams(url);
  const signedPart = ['SAMLRequest', 'RelayState', 'SigAlg']
    .filter((name) => raw.has(name))
    .map((name) => `${name}=${raw.get(name) ?? ''}`)
    .join('&');
  return verify('sha256', Buffer.from(signedPart), certPem, Buffer.from(decodeURIComponent(raw.get('Signature') ?? ''), 'base64'));
}

t.test('the AuthnRequest carries exactly the given ID, the ACS URL, the SP entity ID and the NameIDPolicy format', async (t) => {
  const sp = await createTestSp({ nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress' });
  const requestId = newSamlId();
  const { redirectUrl } = await sp.createLoginRequest({ acsUrl: ACS_URL, requestId, relayState: 'state-1' });
  const url = new URL(redirectUrl);
  t.equal(`${url.origin}${url.pathname}`, SSO_URL);
  t.equal(url.searchParams.get('RelayState'), 'state-1');
  t.match(parseAuthnRequest(url.searchParams.get('SAMLRequest') ?? ''), {
    id: requestId,
    issuer: SP_ENTITY_ID,
    acsUrl: ACS_URL,
    destination: SSO_URL,
    forceAuthn: false,
    isPassive: false,
    nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  });
});

t.test('the AuthnRequest does not pin an authentication context (MFA and Kerberos logins stay possible)', async (t) => {
  const sp = await createTestSp();
  const { redirectUrl } = await sp.createLoginRequest({ acsUrl: ACS_URL, requestId: newSamlId(), relayState: 's' });
  const xml = inflateRawSync(Buffer.from(new URL(redirectUrl).searchParams.get('SAMLRequest') ?? '', 'base64')).toString('utf8');
  t.notMatch(xml, /RequestedAuthnContext/);
});

t.test('ForceAuthn is set when the login asks for it or saml.forceAuthn is on', async (t) => {
  const requestOf = async (sp: Awaited<ReturnType<typeof createTestSp>>, forceAuthn?: boolean) => {
    const { redirectUrl } = await sp.createLoginRequest({ acsUrl: ACS_URL, requestId: newSamlId(), relayState: 's', ...(forceAuthn === undefined ? {} : { forceAuthn }) });
    return parseAuthnRequest(new URL(redirectUrl).searchParams.get('SAMLRequest') ?? '');
  };
  const sp = await createTestSp();
  t.equal((await requestOf(sp, true)).forceAuthn, true);
  t.equal((await requestOf(sp, false)).forceAuthn, false);
  t.equal((await requestOf(await createTestSp({ forceAuthn: true }))).forceAuthn, true);
});

t.test('a signed request verifies with sp.crt over the raw query string, also for an awkward RelayState', async (t) => {
  const sp = await createTestSp();
  const relayState = "a b~'!()*+/=é&x=1";
  const { redirectUrl } = await sp.createLoginRequest({ acsUrl: ACS_URL, requestId: newSamlId(), relayState });
  const url = new URL(redirectUrl);
  t.equal(url.searchParams.get('SigAlg'), RSA_SHA256);
  t.equal(url.searchParams.get('RelayState'), relayState);
  t.ok(verifiesWith(redirectUrl, spKeys.certPem), 'verifies with the SP certificate');
  t.notOk(verifiesWith(redirectUrl, attackerKeys.certPem), 'does not verify with another certificate');
  t.notOk(verifiesWith(redirectUrl.replace('RelayState=', 'RelayState=x'), spKeys.certPem), 'a changed RelayState breaks the signature');
});

t.test('with saml.signAuthnRequests off the request is unsigned', async (t) => {
  const sp = await createTestSp({ signAuthnRequests: false });
  const url = new URL((await sp.createLoginRequest({ acsUrl: ACS_URL, requestId: newSamlId(), relayState: 's' })).redirectUrl);
  t.equal(url.searchParams.get('SigAlg'), null);
  t.equal(url.searchParams.get('Signature'), null);
});

t.test('an SSO URL that already has a query string keeps it', async (t) => {
  const sp = await createTestSp({
    idp: { kind: 'manual', entityId: 'https://idp.example.test', ssoUrl: 'https://idp.example.test/sso?tenant=acme#frag', sloUrl: undefined, signingCerts: [spKeys.certPem] },
  });
  const { redirectUrl } = await sp.createLoginRequest({ acsUrl: ACS_URL, requestId: newSamlId(), relayState: 's' });
  t.match(redirectUrl, /^https:\/\/idp\.example\.test\/sso\?tenant=acme&SAMLRequest=/);
  t.ok(verifiesWith(redirectUrl.replace('tenant=acme&', ''), spKeys.certPem));
});

t.test('signing without an SP key is a configuration error naming saml.spPrivateKey', async (t) => {
  for (const spPrivateKey of [undefined, 'not a key']) {
    const error: unknown = await createTestSp({ spPrivateKey }).catch((caught: unknown) => caught);
    t.type(error, ConfigError);
    t.match(error, { problems: [{ path: 'saml.spPrivateKey' }] });
  }
});
