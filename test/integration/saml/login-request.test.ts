/** AuthnRequest (HTTP-Redirect binding): content, request ID, ForceAuthn, and the query signature. */
import { verify } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { SAML } from '@node-saml/node-saml';
import type { Element } from '@xmldom/xmldom';
import t from 'tap';
import { ConfigError } from '../../../src/errors.js';
import { authnRequestXml, type LoginRequestOptions, type LoginRequestSettings } from '../../../src/saml/login-request.js';
import { parseStrictXml, rootElement } from '../../../src/saml/strict-xml.js';
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

/** An element as namespace URI, local name, attributes (without namespace declarations, sorted) and children. */
function canonical(element: Element): unknown {
  const attributes = Array.from(element.attributes)
    .filter((attr) => attr.name !== 'xmlns' && attr.prefix !== 'xmlns')
    .map((attr) => `${attr.namespaceURI ?? ''} ${attr.localName}=${attr.value}`)
    .sort();
  const children = Array.from(element.childNodes).map((node) => (node.nodeType === node.ELEMENT_NODE ? canonical(node as Element) : node.nodeValue));
  return { name: `${element.namespaceURI ?? ''} ${element.localName}`, attributes, children };
}

/** Parsed as the proxy parses IdP messages: any XML error throws. */
function parsed(xml: string): Element {
  return rootElement(parseStrictXml(xml, (_problem, message) => new Error(`${message}: ${xml}`)));
}

/** The AuthnRequest XML node-saml writes for the same settings (its own DEFLATE skipped). */
async function nodeSamlXml(settings: LoginRequestSettings, options: LoginRequestOptions): Promise<string> {
  const saml = new SAML({
    callbackUrl: options.acsUrl,
    issuer: settings.spEntityId,
    entryPoint: settings.ssoUrl,
    idpCert: [spKeys.certPem],
    identifierFormat: settings.nameIdFormat,
    generateUniqueId: () => options.requestId,
    forceAuthn: settings.forceAuthn || options.forceAuthn === true,
    skipRequestCompression: true,
    ...(options.authnContext === undefined
      ? { disableRequestedAuthnContext: true }
      : { authnContext: [...options.authnContext.classRefs], racComparison: options.authnContext.comparison }),
  });
  const { SAMLRequest } = await saml.getAuthorizeMessageAsync('', undefined, {});
  return Buffer.from(String(SAMLRequest), 'base64').toString('utf8');
}

t.test('the AuthnRequest XML is the one node-saml writes for the same settings, values with markup characters escaped', async (t) => {
  const plain: LoginRequestSettings = { spEntityId: SP_ENTITY_ID, ssoUrl: SSO_URL, nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified', signingKey: undefined, forceAuthn: false };
  const awkward: LoginRequestSettings = {
    spEntityId: `https://sso.example.test/saml?a=1&b=<"x'y">`,
    ssoUrl: 'https://idp.example.test/sso?tenant=a&b=c',
    nameIdFormat: 'urn:example:format&<>"\'',
    signingKey: undefined,
    forceAuthn: true,
  };
  const cases: [string, LoginRequestSettings, Partial<LoginRequestOptions>][] = [
    ['plain', plain, {}],
    ['forceAuthn asked by the login', plain, { forceAuthn: true }],
    ['saml.forceAuthn', { ...plain, forceAuthn: true }, {}],
    ['one exact class', plain, { authnContext: { classRefs: ['urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport'], comparison: 'exact' } }],
    ['two minimum classes', plain, { authnContext: { classRefs: ['urn:example:mfa', 'urn:example:a&b<c>'], comparison: 'minimum' } }],
    ['markup in every value', awkward, { acsUrl: 'https://jira.example.test/_sso/saml/acs?x=1&y="2"', authnContext: { classRefs: [`<&'">`], comparison: 'exact' } }],
  ];
  const issueInstant = new Date('2026-01-02T03:04:05.678Z');
  for (const [name, settings, extra] of cases) {
    const options: LoginRequestOptions = { acsUrl: ACS_URL, requestId: newSamlId(), relayState: 's', ...extra };
    const ours = parsed(authnRequestXml(settings, options, issueInstant));
    const theirs = parsed(await nodeSamlXml(settings, options));
    t.equal(ours.getAttribute('IssueInstant'), issueInstant.toISOString(), `${name}: IssueInstant`);
    theirs.setAttribute('IssueInstant', issueInstant.toISOString());
    t.same(canonical(ours), canonical(theirs), name);
  }
});

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
