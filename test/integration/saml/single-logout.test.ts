/**
 * Single logout in the SAML adapter: the signed LogoutRequest and LogoutResponse the SP sends, and strict reading
 * of the IdP's messages over both bindings (signature by a pinned IdP key required; issuer, destination, times).
 */
import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import t from 'tap';
import { SAML_URI } from '../../../src/saml/saml-uris.js';
import { logoutRequestXml, logoutResponseXml } from '../../../src/saml/logout-messages.js';
import { buildRedirectUrl, deflateSamlMessage, readRedirectMessage } from '../../../src/saml/redirect-binding.js';
import { signRoot } from '../../../src/saml/signed-xml.js';
import type { IncomingSamlMessage } from '../../../src/saml/saml-messages.js';
import { attackerKeys, createTestSp, IDP_ENTITY_ID, idpKeys, newSamlId, refusal, SP_ENTITY_ID, spKeys } from '../../support/saml-test-kit.js';

const IDP_SLO = 'https://idp.example.test/saml/slo';
const SP_SLO = 'https://jira.example.test/_sso/saml/slo';
const idpKey = createPrivateKey(idpKeys.keyPem);
const manualIdp = { kind: 'manual' as const, entityId: IDP_ENTITY_ID, ssoUrl: 'https://idp.example.test/saml/sso', sloUrl: IDP_SLO, signingCerts: [idpKeys.certPem] };

function idpRequestXml(changes: Partial<Parameters<typeof logoutRequestXml>[0]> = {}): string {
  const nowMs = Date.now();
  return logoutRequestXml({
    id: newSamlId(),
    issuer: IDP_ENTITY_ID,
    destination: SP_SLO,
    issueInstant: new Date(nowMs),
    notOnOrAfter: new Date(nowMs + 60_000),
    nameId: 'alice',
    nameIdFormat: undefined,
    sessionIndex: '_s1',
    ...changes,
  });
}

/** `key` null: unsigned. */
function redirect(xml: string, key: KeyObject | null = idpKey, relayState?: string): IncomingSamlMessage {
  return { binding: 'redirect', rawQuery: new URL(buildRedirectUrl(SP_SLO, 'SAMLRequest', deflateSamlMessage(xml), relayState, key ?? undefined)).search.slice(1) };
}

/** `keyPem` null: unsigned. */
function posted(xml: string, keyPem: string | null = idpKeys.keyPem): IncomingSamlMessage {
  const signed = keyPem === null ? xml : signRoot(xml, 'LogoutRequest', createPrivateKey(keyPem), undefined);
  return { binding: 'post', samlRequest: Buffer.from(signed).toString('base64'), samlResponse: undefined, relayState: 'r1' };
}

t.test('the SP sends a signed LogoutRequest naming the SAML session, and answers with a signed LogoutResponse', async (t) => {
  const sp = await createTestSp({ idp: manualIdp });
  const request = await sp.createLogoutRequest({ requestId: '_lr1', nameId: 'alice', nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent', sessionIndex: '_s1', relayState: 'sealed' });
  t.equal(request.binding, 'redirect');
  const url = new URL((request as { url: string }).url);
  t.equal(`${url.origin}${url.pathname}`, IDP_SLO);
  const read = readRedirectMessage(url.search.slice(1), [spKeys.certPem], 64 * 1024);
  t.equal(read.relayState, 'sealed');
  for (const part of ['ID="_lr1"', `Destination="${IDP_SLO}"`, `<saml:Issuer>${SP_ENTITY_ID}</saml:Issuer>`, 'Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">alice</saml:NameID>', '<samlp:SessionIndex>_s1</samlp:SessionIndex>', 'NotOnOrAfter="']) {
    t.match(read.xml, part);
  }

  const answer = await sp.createLogoutResponse({ inResponseTo: '_idp1', partial: false, relayState: 'idp-rs' });
  const answered = readRedirectMessage(new URL((answer as { url: string }).url).search.slice(1), [spKeys.certPem], 64 * 1024);
  t.match(answered.xml, 'InResponseTo="_idp1"');
  t.match(answered.xml, `<samlp:StatusCode Value="${SAML_URI.statusSuccess}"/>`);
  t.equal(answered.relayState, 'idp-rs');
  const partial = await sp.createLogoutResponse({ inResponseTo: '_idp2', partial: true, relayState: undefined });
  t.match(readRedirectMessage(new URL((partial as { url: string }).url).search.slice(1), [spKeys.certPem], 64 * 1024).xml, 'status:PartialLogout');
});

t.test('no single logout without an IdP endpoint or without the SP key', async (t) => {
  const noEndpoint = await createTestSp({ idp: { ...manualIdp, sloUrl: undefined } });
  t.match(await noEndpoint.createLogoutRequest({ requestId: '_x', nameId: 'a', nameIdFormat: undefined, sessionIndex: undefined, relayState: '' }), { binding: 'none', reason: /SingleLogoutService/ });
  const noKey = await createTestSp({ idp: manualIdp, spPrivateKey: undefined, spCertificate: undefined, signAuthnRequests: false });
  t.match(await noKey.createLogoutRequest({ requestId: '_x', nameId: 'a', nameIdFormat: undefined, sessionIndex: undefined, relayState: '' }), { binding: 'none', reason: /saml\.spPrivateKey/ });
  const unsignedAnswer = await noKey.createLogoutResponse({ inResponseTo: '_i', partial: false, relayState: undefined });
  t.notMatch((unsignedAnswer as { url: string }).url, /Signature=/, 'without a key the LogoutResponse goes unsigned');
});

t.test("the IdP's LogoutRequest, signed, over both bindings", async (t) => {
  const sp = await createTestSp({ idp: manualIdp });
  const viaRedirect = await sp.readLogoutMessage(redirect(idpRequestXml({ id: '_r1' }), idpKey, 'rs'), SP_SLO);
  t.match(viaRedirect, { kind: 'request', id: '_r1', issuer: IDP_ENTITY_ID, nameId: 'alice', sessionIndexes: ['_s1'], relayState: 'rs' });
  const viaPost = await sp.readLogoutMessage(posted(idpRequestXml({ id: '_p1', sessionIndex: undefined })), SP_SLO);
  t.match(viaPost, { kind: 'request', id: '_p1', sessionIndexes: [], relayState: 'r1' });
  const response = logoutResponseXml({ id: '_resp', issuer: IDP_ENTITY_ID, destination: SP_SLO, issueInstant: new Date(), inResponseTo: '_lr1', partial: true });
  const read = await sp.readLogoutMessage({ binding: 'redirect', rawQuery: new URL(buildRedirectUrl(SP_SLO, 'SAMLResponse', deflateSamlMessage(response), 'rs', idpKey)).search.slice(1) }, SP_SLO);
  t.match(read, { kind: 'response', inResponseTo: '_lr1', success: false, status: /Responder \/ .*PartialLogout/ });
});

t.test('refused: unsigned, forged, weak algorithms, tampered, wrapped, misdirected, expired, from another issuer', async (t) => {
  const sp = await createTestSp({ idp: manualIdp });
  const good = new URL(buildRedirectUrl(SP_SLO, 'SAMLRequest', deflateSamlMessage(idpRequestXml()), undefined, idpKey)).search.slice(1);
  const sha1Query = (() => {
    const query = `SAMLRequest=${encodeURIComponent(deflateSamlMessage(idpRequestXml()))}&SigAlg=${encodeURIComponent('http://www.w3.org/2000/09/xmldsig#rsa-sha1')}`;
    return `${query}&Signature=${encodeURIComponent(sign('sha1', Buffer.from(query), idpKey).toString('base64'))}`;
  })();
  const wrapped = (() => {
    // A genuinely signed request, its NameID swapped inside a copy: the signature no longer covers what is read.
    const signed = signRoot(idpRequestXml({ nameId: 'bob' }), 'LogoutRequest', idpKey, undefined);
    return signed.replace('>bob</saml:NameID>', '>alice</saml:NameID>');
  })();
  const cases: [string, IncomingSamlMessage, string, string][] = [
    ['unsigned (Redirect)', redirect(idpRequestXml(), null), 'ERR_SAML_SIGNATURE', 'unsigned'],
    ['signed by another key (Redirect)', redirect(idpRequestXml(), createPrivateKey(attackerKeys.keyPem)), 'ERR_SAML_SIGNATURE', 'signature'],
    ['RSA-SHA1', { binding: 'redirect', rawQuery: sha1Query }, 'ERR_SAML_SIGNATURE', 'signature_algorithm'],
    ['RelayState added after signing', { binding: 'redirect', rawQuery: good.replace('&SigAlg', '&RelayState=evil&SigAlg') }, 'ERR_SAML_SIGNATURE', 'signature'],
    ['unsigned (POST)', posted(idpRequestXml(), null), 'ERR_SAML_SIGNATURE', 'unsigned'],
    ['signed by another key (POST)', posted(idpRequestXml(), attackerKeys.keyPem), 'ERR_SAML_SIGNATURE', 'signature'],
    ['changed after signing (POST)', { binding: 'post', samlRequest: Buffer.from(wrapped).toString('base64'), samlResponse: undefined, relayState: undefined }, 'ERR_SAML_SIGNATURE', 'signature'],
    ['another Destination', redirect(idpRequestXml({ destination: 'https://other.example.test/_sso/saml/slo' })), 'ERR_SAML_CONDITIONS', 'destination'],
    ['another issuer', redirect(idpRequestXml({ issuer: 'https://evil.example.test/idp' })), 'ERR_SAML_CONDITIONS', 'issuer'],
    ['NotOnOrAfter passed', redirect(idpRequestXml({ notOnOrAfter: new Date(Date.now() - 120_000) })), 'ERR_SAML_CONDITIONS', 'not_on_or_after'],
    ['issued long ago', redirect(idpRequestXml({ issueInstant: new Date(Date.now() - 3_600_000) })), 'ERR_SAML_CONDITIONS', 'issue_instant'],
    ['issued in the future', redirect(idpRequestXml({ issueInstant: new Date(Date.now() + 3_600_000) })), 'ERR_SAML_CONDITIONS', 'issue_instant'],
    ['a DOCTYPE', redirect(`<!DOCTYPE x [<!ENTITY e "alice">]>${idpRequestXml()}`), 'ERR_SAML_MALFORMED', 'doctype'],
    ['not a logout message', redirect(idpRequestXml().replace(/LogoutRequest/g, 'AuthnRequest')), 'ERR_SAML_MALFORMED', 'not_logout'],
  ];
  for (const [name, message, code, detail] of cases) {
    const error = await refusal(sp.readLogoutMessage(message, SP_SLO));
    t.match({ code: error.code, detail: error.detail }, { code, detail }, name);
  }
});
