import t from 'tap';
import { CrowdUnavailableError, RelayStateError, SamlReplayError, SamlSignatureError } from '../../../src/errors.js';
import { createLogoutFlow } from '../../../src/flows/logout.js';
import type { IncomingSamlMessage, LogoutMessage } from '../../../src/flows/ports.js';
import { FakeCrowd, FakeReplayStore, FakeSaml, FakeSealer, FakeSessionStore, FakeTokens, crowdSession, sessionRecord } from './fakes.js';

const IDP = 'https://idp.example.com';

function setup(options: { suppressLoginMs?: number; announceFails?: boolean } = {}) {
  const crowd = new FakeCrowd();
  const tokens = new FakeTokens();
  const sessions = new FakeSessionStore();
  const replay = new FakeReplayStore();
  const saml = new FakeSaml();
  const sealer = new FakeSealer();
  const ended: string[] = [];
  const announced: string[] = [];
  const flow = createLogoutFlow({
    crowd,
    tokenValidator: tokens,
    sessions,
    replay,
    saml,
    sealer,
    onSessionEnded: (token) => ended.push(token),
    announceEnded: async (token) => {
      if (options.announceFails === true) throw new Error('pub/sub down');
      announced.push(token);
    },
    suppressLoginMs: options.suppressLoginMs ?? 5_000,
  });
  return { crowd, tokens, sessions, replay, saml, sealer, ended, announced, flow };
}

type Setup = ReturnType<typeof setup>;

/** A Crowd session the proxy made from a SAML login, with its record. */
function signedIn(fake: Setup, token: string, nameId = 'alice', sessionIndex = '_session-1'): void {
  fake.crowd.sessions.set(token, crowdSession(token, nameId));
  fake.tokens.remember(token, 'ip', crowdSession(token, nameId));
  fake.sessions.records.set(token, sessionRecord(token, { username: nameId, nameId, sessionIndex, issuer: IDP }));
}

const postMessage = (samlRequest: string): IncomingSamlMessage => ({ binding: 'post', samlRequest, samlResponse: undefined, relayState: undefined });

function logoutRequest(overrides: Partial<Extract<LogoutMessage, { kind: 'request' }>> = {}): LogoutMessage {
  return { kind: 'request', id: '_idp-logout-1', issuer: IDP, nameId: 'alice', nameIdFormat: undefined, sessionIndexes: [], expiresAtMs: 9_000_000, relayState: 'idp-relay', ...overrides };
}

function logoutResponse(overrides: Partial<Extract<LogoutMessage, { kind: 'response' }>> = {}): LogoutMessage {
  return { kind: 'response', id: '_resp-1', inResponseTo: undefined, success: true, status: 'urn:oasis:names:tc:SAML:2.0:status:Success', relayState: undefined, ...overrides };
}

t.test('ending a session: Crowd, the token cache, the judge, the record and the other instances', async (t) => {
  const fake = setup();
  signedIn(fake, 'tok');
  const ended = await fake.flow.endSessions(['tok']);
  t.same(ended.tokens, ['tok']);
  t.same(ended.records.map((record) => record.token), ['tok']);
  t.same(ended.failures, []);
  t.notOk(fake.crowd.sessions.has('tok'), 'invalidated at Crowd');
  t.same(fake.tokens.forgotten, ['tok']);
  t.equal(fake.tokens.cached('tok', 'ip'), undefined);
  t.same(fake.ended, ['tok']);
  t.equal(fake.sessions.records.size, 0);
  t.same(fake.announced, ['tok']);
});

t.test('each token once; a token the proxy has no record of is ended all the same', async (t) => {
  const fake = setup();
  signedIn(fake, 'a');
  fake.crowd.sessions.set('app-made', crowdSession('app-made', 'alice'));
  const ended = await fake.flow.endSessions(['a', 'app-made', 'a']);
  t.same(ended.tokens, ['a', 'app-made']);
  t.same(ended.records.map((record) => record.token), ['a'], 'records only of the sessions the proxy made');
  t.same(fake.crowd.callsTo('invalidateSession'), [['a'], ['app-made']]);
  t.equal(fake.crowd.sessions.size, 0);
});

t.test('failures are counted, not thrown; every step is still attempted', async (t) => {
  const fake = setup({ announceFails: true });
  signedIn(fake, 'tok');
  fake.crowd.failures.set('invalidateSession', new CrowdUnavailableError('Crowd down'));
  fake.sessions.unavailable = true;
  const ended = await fake.flow.endSessions(['tok'], ['earlier problem']);
  t.equal(ended.failures.length, 5);
  t.equal(ended.failures[0], 'earlier problem', 'what went wrong before is reported with the rest');
  t.match(ended.failures, [/earlier/, /reading the SAML session record/, /DELETE \/session\/\{token\} at Crowd: Crowd down/, /removing the SAML session record/, /telling the other instances.*pub\/sub down/]);
  t.same(ended.records, []);
  t.same(fake.tokens.forgotten, ['tok'], 'the local caches forget it anyway');
  t.same(fake.ended, ['tok']);
});

t.test('logout cookies: the Crowd cookie cleared (domain and host-only) and the signed-out marker', async (t) => {
  const hostOnly = setup();
  t.same(await hostOnly.flow.logoutCookies(), [
    'crowd.token_key=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax',
    'crowd_sso_proxy_signed_out=1; Path=/; Max-Age=5; HttpOnly; SameSite=Lax',
  ]);

  const domain = setup({ suppressLoginMs: 60_000 });
  domain.crowd.cookie = { name: 'crowd.token_key', domain: 'example.com', secure: true };
  t.same(await domain.flow.logoutCookies(), [
    'crowd.token_key=; Path=/; Domain=example.com; Max-Age=0; Secure; HttpOnly; SameSite=Lax',
    'crowd.token_key=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax',
    'crowd_sso_proxy_signed_out=1; Path=/; Domain=example.com; Max-Age=60; Secure; HttpOnly; SameSite=Lax',
  ]);

  const noMarker = setup({ suppressLoginMs: 0 });
  t.same(await noMarker.flow.logoutCookies(), ['crowd.token_key=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax'], 'logout.suppressLoginMs 0: no marker');
});

t.test('single logout start: a LogoutRequest for the recorded SAML session, the destination sealed with its ID', async (t) => {
  const fake = setup();
  const record = sessionRecord('tok', { nameId: 'alice@example.com', nameIdFormat: 'urn:email', sessionIndex: '_idx-7' });
  const message = await fake.flow.startSingleLogout(record, 'https://portal.example.com/bye');
  const [request] = fake.saml.logoutRequests;
  t.match(request?.requestId, /^_[0-9a-f]{40}$/);
  t.same({ ...request, requestId: undefined, relayState: undefined }, { requestId: undefined, relayState: undefined, nameId: 'alice@example.com', nameIdFormat: 'urn:email', sessionIndex: '_idx-7' });
  t.same(await fake.sealer.open(request?.relayState ?? ''), { requestId: request?.requestId, returnUrl: 'https://portal.example.com/bye' }, 'no browser binding in a logout state');
  t.same(message, { binding: 'redirect', url: `https://idp.example.com/slo?id=${request?.requestId}` });

  await fake.flow.startSingleLogout(record, undefined);
  t.equal((await fake.sealer.open(fake.saml.logoutRequests[1]?.relayState ?? '')).returnUrl, '', 'the signed-out page');
  t.not(fake.saml.logoutRequests[1]?.requestId, request?.requestId);
});

t.test('the LogoutResponse to our request: back to the sealed destination when it answers that request', async (t) => {
  const fake = setup();
  await fake.flow.startSingleLogout(sessionRecord('tok'), 'https://portal.example.com/bye');
  const [request] = fake.saml.logoutRequests;
  fake.saml.logoutMessages.set('q=ok', logoutResponse({ inResponseTo: request?.requestId, relayState: request?.relayState }));
  t.same(await fake.flow.acceptLogoutMessage({ binding: 'redirect', rawQuery: 'q=ok' }, 'https://jira.example.com/_sso/saml/slo'), {
    kind: 'sp-logout-done',
    success: true,
    status: 'urn:oasis:names:tc:SAML:2.0:status:Success',
    redirectUrl: 'https://portal.example.com/bye',
    matched: true,
  });

  fake.saml.logoutMessages.set('q=fail', logoutResponse({ inResponseTo: request?.requestId, relayState: request?.relayState, success: false, status: 'urn:Responder' }));
  const failed = await fake.flow.acceptLogoutMessage({ binding: 'redirect', rawQuery: 'q=fail' }, 'slo');
  t.match(failed, { kind: 'sp-logout-done', success: false, status: 'urn:Responder', matched: true });
  t.same(fake.crowd.calls, [], 'a LogoutResponse ends no session itself (the local logout came first)');
});

t.test('a LogoutResponse that does not name our logout: unmatched, the signed-out page', async (t) => {
  const fake = setup();
  await fake.flow.startSingleLogout(sessionRecord('tok'), 'https://portal.example.com/bye');
  await fake.flow.startSingleLogout(sessionRecord('tok'), undefined);
  const [first, second] = fake.saml.logoutRequests;
  const cases: [string, LogoutMessage][] = [
    ['no RelayState', logoutResponse({ inResponseTo: first?.requestId })],
    ['empty RelayState', logoutResponse({ inResponseTo: first?.requestId, relayState: '' })],
    ['expired or forged state', logoutResponse({ inResponseTo: first?.requestId, relayState: 'sealed.unknown' })],
    ['another request', logoutResponse({ inResponseTo: second?.requestId, relayState: first?.relayState })],
    ['no InResponseTo', logoutResponse({ relayState: first?.relayState })],
  ];
  for (const [name, message] of cases) {
    fake.saml.logoutMessages.set(name, message);
    t.match(await fake.flow.acceptLogoutMessage({ binding: 'redirect', rawQuery: name }, 'slo'), { kind: 'sp-logout-done', redirectUrl: undefined, matched: false }, name);
  }
  fake.saml.logoutMessages.set('matched-no-url', logoutResponse({ inResponseTo: second?.requestId, relayState: second?.relayState }));
  t.match(await fake.flow.acceptLogoutMessage({ binding: 'redirect', rawQuery: 'matched-no-url' }, 'slo'), { matched: true, redirectUrl: undefined }, 'no logout.redirectUrl sealed');
});

t.test('a sealer failure other than a bad state propagates', async (t) => {
  const fake = setup();
  fake.sealer.open = async () => {
    throw new TypeError('a bug');
  };
  fake.saml.logoutMessages.set('q', logoutResponse({ inResponseTo: '_x', relayState: 'sealed.1' }));
  await t.rejects(fake.flow.acceptLogoutMessage({ binding: 'redirect', rawQuery: 'q' }, 'slo'), TypeError);
  fake.sealer.open = async () => {
    throw new RelayStateError('expired');
  };
  t.match(await fake.flow.acceptLogoutMessage({ binding: 'redirect', rawQuery: 'q' }, 'slo'), { matched: false });
});

t.test("an IdP's LogoutRequest without SessionIndex ends every session of that NameID, and only those", async (t) => {
  const fake = setup();
  signedIn(fake, 'a1', 'alice', '_s1');
  signedIn(fake, 'a2', 'alice', '_s2');
  signedIn(fake, 'b1', 'bob', '_s3');
  fake.saml.logoutMessages.set('req', logoutRequest());
  const outcome = await fake.flow.acceptLogoutMessage(postMessage('req'), 'slo');
  t.equal(outcome.kind, 'idp-logout');
  if (outcome.kind !== 'idp-logout') return;
  t.equal(outcome.nameId, 'alice');
  t.same([...outcome.ended.tokens].sort(), ['a1', 'a2']);
  t.same([...fake.crowd.sessions.keys()], ['b1']);
  t.same(fake.saml.logoutResponses, [{ inResponseTo: '_idp-logout-1', partial: false, relayState: 'idp-relay' }]);
  t.same(outcome.response, { binding: 'redirect', url: 'https://idp.example.com/slo?InResponseTo=_idp-logout-1&partial=false' });
  t.same([...fake.replay.used], [['_idp-logout-1', 9_000_000]], 'its ID remembered until it expires');
});

t.test("an IdP's LogoutRequest with SessionIndexes ends exactly those sessions", async (t) => {
  const fake = setup();
  signedIn(fake, 'a1', 'alice', '_s1');
  signedIn(fake, 'a2', 'alice', '_s2');
  signedIn(fake, 'a3', 'alice', '_s3');
  fake.saml.logoutMessages.set('req', logoutRequest({ sessionIndexes: ['_s1', '_s3'] }));
  const outcome = await fake.flow.acceptLogoutMessage(postMessage('req'), 'slo');
  t.same(outcome.kind === 'idp-logout' ? outcome.ended.tokens : undefined, ['a1', 'a3']);
  t.same([...fake.crowd.sessions.keys()], ['a2']);
});

t.test("an IdP's LogoutRequest naming no known session: nothing ended, a full success", async (t) => {
  const fake = setup();
  signedIn(fake, 'a1', 'alice', '_s1');
  fake.saml.logoutMessages.set('req', logoutRequest({ nameId: 'nobody' }));
  const outcome = await fake.flow.acceptLogoutMessage(postMessage('req'), 'slo');
  t.same(outcome.kind === 'idp-logout' ? outcome.ended : undefined, { records: [], tokens: [], failures: [] });
  t.equal(fake.saml.logoutResponses[0]?.partial, false);
});

t.test('a replayed LogoutRequest is refused', async (t) => {
  const fake = setup();
  fake.saml.logoutMessages.set('req', logoutRequest());
  await fake.flow.acceptLogoutMessage(postMessage('req'), 'slo');
  const error = await fake.flow.acceptLogoutMessage(postMessage('req'), 'slo').catch((caught: unknown) => caught);
  t.type(error, SamlReplayError);
  t.equal((error as SamlReplayError).detail, 'logout_request_reused');
  t.equal(fake.saml.logoutResponses.length, 1, 'no second LogoutResponse');
});

t.test('store unavailable: the IdP is told the logout was partial, not sent an error page', async (t) => {
  const fake = setup();
  fake.replay.unavailable = true;
  fake.saml.logoutMessages.set('req', logoutRequest());
  const outcome = await fake.flow.acceptLogoutMessage(postMessage('req'), 'slo');
  t.equal(outcome.kind, 'idp-logout');
  t.match(outcome.kind === 'idp-logout' ? outcome.ended.failures : [], [/finding the sessions to end/]);
  t.equal(fake.saml.logoutResponses[0]?.partial, true);

  const findFails = setup();
  signedIn(findFails, 'a1');
  findFails.sessions.unavailable = true;
  findFails.saml.logoutMessages.set('req', logoutRequest());
  await findFails.flow.acceptLogoutMessage(postMessage('req'), 'slo');
  t.equal(findFails.saml.logoutResponses[0]?.partial, true);
  t.ok(findFails.crowd.sessions.has('a1'), 'without the store, no session can be found');
});

t.test('a session Crowd could not end makes the LogoutResponse partial', async (t) => {
  const fake = setup();
  signedIn(fake, 'a1');
  fake.crowd.failures.set('invalidateSession', new CrowdUnavailableError('Crowd down'));
  fake.saml.logoutMessages.set('req', logoutRequest());
  const outcome = await fake.flow.acceptLogoutMessage(postMessage('req'), 'slo');
  t.match(outcome.kind === 'idp-logout' ? outcome.ended.failures : [], [/at Crowd: Crowd down/]);
  t.equal(fake.saml.logoutResponses[0]?.partial, true);
  t.equal(fake.sessions.records.size, 0, 'the record is removed all the same');
});

t.test('an unverifiable logout message is refused before anything happens', async (t) => {
  const fake = setup();
  signedIn(fake, 'a1');
  fake.saml.logoutMessages.set('unsigned', new SamlSignatureError('unsigned'));
  await t.rejects(fake.flow.acceptLogoutMessage(postMessage('unsigned'), 'slo'), SamlSignatureError);
  t.ok(fake.crowd.sessions.has('a1'));
  t.equal(fake.replay.used.size, 0);
});
