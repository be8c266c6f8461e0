import t from 'tap';
import { AccessDeniedError, CrowdUnavailableError, IdentityNotFoundError, RelayStateError, SamlConditionsError, SamlReplayError, SamlSignatureError, StoreUnavailableError } from '../../../src/errors.js';
import { createLoginCompleter, type CompleteLoginInput, type LoginApp, type LoginCompleterDeps } from '../../../src/flows/complete-login.js';
import type { RestrictedApp } from '../../../src/flows/enforce-access-restriction.js';
import { LoginAttempt } from '../../../src/flows/login-attempt.js';
import type { FactorSet, SamlProfile, SessionRecord } from '../../../src/flows/ports.js';
import { hashBindingNonce } from '../../../src/flows/start-login.js';
import { createSessionJudge } from '../../../src/flows/judge-session.js';
import { createLogoutFlow } from '../../../src/flows/logout.js';
import { createReturnUrlPolicy } from '../../../src/policy/return-url.js';
import { crowdUser, FakeCrowd, FakeReplayStore, FakeSaml, FakeSealer, FakeSessionStore, FakeTokens, looksSealed, samlProfile } from './fakes.js';

const JIRA = 'jira.example.com';
const WIKI = 'wiki.example.com';
const NOW = 1_700_000_000_000;
const WEEK_MS = 7 * 24 * 3_600_000;
const SKEW = 30_000;
const MFA = 'urn:example:mfa';
const APP: LoginApp = { name: 'Jira', access: undefined, startPath: '/start', requiredAuthnContext: undefined };

interface Options {
  readonly allowIdpInitiated?: boolean;
  readonly idpGroups?: readonly string[];
  /** The proxy's clock, shared with the session store (which forgets records at their expiresAtMs). */
  readonly clock?: { now: number };
}

function setup(options: Options = {}) {
  const saml = new FakeSaml();
  const sealer = new FakeSealer();
  const replay = new FakeReplayStore();
  const clock = options.clock;
  const sessions = new FakeSessionStore(clock === undefined ? undefined : () => clock.now);
  const crowd = new FakeCrowd();
  const established: { nameId: string }[] = [];
  const accessChecks: { app: RestrictedApp; username: string; idpGroups: readonly string[] }[] = [];
  const refusals: { identity?: Error; access?: Error } = {};
  const deps: LoginCompleterDeps = {
    saml,
    sealer,
    replay,
    sessions,
    crowd,
    // The identity step maps the NameID straight to the Crowd user of that name (its own tests cover the rest).
    identity: {
      establish: async (profile) => {
        established.push({ nameId: profile.nameId });
        if (refusals.identity !== undefined) throw refusals.identity;
        const user = crowd.users.get(profile.nameId.toLowerCase());
        if (user === undefined) throw new IdentityNotFoundError(`no user ${profile.nameId}`);
        return { user, idpGroups: options.idpGroups };
      },
    },
    access: {
      atLogin: async (app, username, idpGroups) => {
        accessChecks.push({ app, username, idpGroups });
        if (refusals.access !== undefined) throw refusals.access;
      },
    },
    returnUrls: createReturnUrlPolicy({ publicScheme: 'https', hosts: [JIRA, WIKI] }),
    acsUrl: (host) => `https://${host}/_sso/saml/acs`,
    allowIdpInitiated: options.allowIdpInitiated ?? false,
    validationFactors: (clientIp): FactorSet => ({ factors: [{ name: 'remote_address', value: clientIp }], cacheKey: clientIp }),
    sessionDurationSeconds: 3600,
    bindingCookie: { name: (id) => `login_${id}`, clear: (host, id) => `login_${id}=; Max-Age=0; for=${host}` },
    signInUrl: (host, returnUrl) => `https://${host}/_sso/login?return=${encodeURIComponent(returnUrl)}`,
    looksSealed,
    clockSkewMs: SKEW,
    now: () => clock?.now ?? NOW,
  };
  crowd.addUser(crowdUser('alice'));
  const completer = createLoginCompleter(deps);
  return { saml, sealer, replay, sessions, crowd, established, accessChecks, refusals, completer };
}

type Setup = ReturnType<typeof setup>;

/** What the login start leaves behind: a sealed state and the nonce cookie the browser holds. */
async function startedLogin(fake: Setup, returnUrl = `https://${JIRA}/browse/PROJ-1`, requestId = '_request-1') {
  const nonce = `nonce-for-${requestId}`;
  const relayState = await fake.sealer.seal({ requestId, returnUrl, browserBinding: { id: `id${requestId}`, nonceHash: hashBindingNonce(nonce) } });
  return { relayState, cookieName: `login_id${requestId}`, nonce };
}

function cookieJar(cookies: Readonly<Record<string, readonly string[]>>): (name: string) => readonly string[] {
  return (name) => cookies[name] ?? [];
}

function input(overrides: Partial<CompleteLoginInput> = {}): CompleteLoginInput {
  return {
    host: JIRA,
    samlResponse: 'response-1',
    relayState: undefined,
    presentedCookies: () => [],
    clientIp: '192.0.2.7',
    app: APP,
    attempt: new LoginAttempt(),
    ...overrides,
  };
}

function respond(fake: Setup, profile: Partial<SamlProfile> = {}, samlResponse = 'response-1'): SamlProfile {
  const full = samlProfile({ nameId: 'alice', assertionId: `_assertion-${samlResponse}`, notOnOrAfterMs: NOW + 300_000, ...profile });
  fake.saml.responses.set(samlResponse, full);
  return full;
}

async function refusal<E extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof type)) throw new Error(`expected ${type.name}, got ${String(error)}`);
  return error;
}

t.test('a solicited login: validated against its request, Crowd session made and recorded, cookies set', async (t) => {
  const fake = setup();
  const login = await startedLogin(fake);
  respond(fake, { sessionIndex: '_idx-9', authnContextClassRef: MFA, nameIdFormat: 'urn:format' });
  const attempt = new LoginAttempt();
  const done = await fake.completer.complete(input({ relayState: login.relayState, presentedCookies: cookieJar({ [login.cookieName]: [login.nonce] }), attempt }));

  t.same(fake.saml.validations, [{ samlResponse: 'response-1', acsUrl: `https://${JIRA}/_sso/saml/acs`, expectedRequestId: '_request-1' }]);
  t.equal(done.redirectUrl, `https://${JIRA}/browse/PROJ-1`);
  t.equal(done.unsolicited, false);
  t.equal(done.username, 'alice');
  t.equal(done.sessionRecorded, true);
  t.equal(done.profile.inResponseTo, '_request-1');
  t.same(fake.crowd.callsTo('createSession'), [['alice', [{ name: 'remote_address', value: '192.0.2.7' }], 3600]]);
  t.ok(fake.crowd.sessions.has(done.token));
  t.same(done.setCookies, [`crowd.token_key=${done.token}; Path=/; HttpOnly; SameSite=Lax`, `login_id_request-1=; Max-Age=0; for=${JIRA}`], 'the Crowd cookie, and the binding cookie cleared');

  t.same(fake.sessions.records.get(done.token), {
    token: done.token,
    username: 'alice',
    issuer: 'https://idp.example.com',
    nameId: 'alice',
    nameIdFormat: 'urn:format',
    sessionIndex: '_idx-9',
    authnContextClassRef: MFA,
    createdAtMs: NOW,
    sessionNotOnOrAfterMs: undefined,
    expiresAtMs: NOW + WEEK_MS,
  } satisfies SessionRecord, 'no SessionNotOnOrAfter: remembered a week, no idpGroups key');
  t.same([...fake.replay.used], [['_assertion-response-1', NOW + 300_000 + SKEW]], 'single use remembered for the assertion lifetime plus the clock skew');
  t.equal(attempt.idp, 'https://idp.example.com');
  t.equal(attempt.nameId, 'alice');
  t.equal(attempt.unsolicited, false);
  t.equal(attempt.returnUrl, `https://${JIRA}/browse/PROJ-1`);
  t.same(fake.accessChecks, [{ app: APP, username: 'alice', idpGroups: [] }]);
});

t.test("the record is kept a week past the IdP's SessionNotOnOrAfter; IdP groups are recorded when configured", async (t) => {
  const fake = setup({ idpGroups: ['staff'] });
  const login = await startedLogin(fake);
  respond(fake, { sessionNotOnOrAfterMs: NOW + 7_200_000 });
  const done = await fake.completer.complete(input({ relayState: login.relayState, presentedCookies: cookieJar({ [login.cookieName]: [login.nonce] }) }));
  const record = fake.sessions.records.get(done.token);
  t.equal(record?.expiresAtMs, NOW + 7_200_000 + WEEK_MS, 'so the judge can tell the ended session from an unknown one');
  t.equal(record?.sessionNotOnOrAfterMs, NOW + 7_200_000);
  t.same(record?.idpGroups, ['staff']);
  t.same(fake.accessChecks[0]?.idpGroups, ['staff']);
});

t.test('a Crowd cookie with a Domain: a stale host-only cookie is cleared first', async (t) => {
  const fake = setup();
  fake.crowd.cookie = { name: 'crowd.token_key', domain: 'example.com', secure: true };
  const login = await startedLogin(fake);
  respond(fake);
  const done = await fake.completer.complete(input({ relayState: login.relayState, presentedCookies: cookieJar({ [login.cookieName]: [login.nonce] }) }));
  t.same(done.setCookies, [
    'crowd.token_key=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax',
    `crowd.token_key=${done.token}; Path=/; Domain=example.com; Secure; HttpOnly; SameSite=Lax`,
    `login_id_request-1=; Max-Age=0; for=${JIRA}`,
  ]);
});

t.test('Crowd spelling the username differently: the session and record name the user as Crowd answered', async (t) => {
  const fake = setup();
  fake.crowd.addUser(crowdUser('Bob'));
  const login = await startedLogin(fake);
  respond(fake, { nameId: 'bob' });
  const done = await fake.completer.complete(input({ relayState: login.relayState, presentedCookies: cookieJar({ [login.cookieName]: [login.nonce] }) }));
  t.equal(done.username, 'Bob');
  t.equal(fake.sessions.records.get(done.token)?.username, 'Bob');
});

t.test('browser binding: one of several cookies of that name may match', async (t) => {
  const fake = setup();
  const login = await startedLogin(fake);
  respond(fake);
  const done = await fake.completer.complete(input({ relayState: login.relayState, presentedCookies: cookieJar({ [login.cookieName]: ['stale', login.nonce] }) }));
  t.equal(done.username, 'alice');
});

t.test('browser binding: a sealed state without binding cookie in the browser is refused (login CSRF)', async (t) => {
  const fake = setup();
  const login = await startedLogin(fake);
  respond(fake);
  const error = await refusal(fake.completer.complete(input({ relayState: login.relayState, presentedCookies: cookieJar({ login_other: [login.nonce] }) })), RelayStateError);
  t.equal(error.detail, 'browser_binding_absent');
  t.match(error.message, /login_id_request-1/);
  t.match(error.publicMessage, /not started in this browser/);
  t.equal(error.retryUrl, `https://${JIRA}/_sso/login?return=${encodeURIComponent(`https://${JIRA}/browse/PROJ-1`)}`, 'Sign in again, back to the same page');
  t.same(fake.saml.validations, [], 'the response is not even validated');
  t.same(fake.replay.used.size, 0, 'nor consumed: the real browser can still use it');
  t.same(fake.crowd.callsTo('createSession'), []);
});

t.test('browser binding: a cookie whose nonce does not match is refused', async (t) => {
  const fake = setup();
  const login = await startedLogin(fake);
  respond(fake);
  const error = await refusal(fake.completer.complete(input({ relayState: login.relayState, presentedCookies: cookieJar({ [login.cookieName]: ['forged'] }) })), RelayStateError);
  t.equal(error.detail, 'browser_binding_mismatch');
  t.ok(error.retryUrl);
  t.same(fake.saml.validations, []);

  const hashGiven = await refusal(
    fake.completer.complete(input({ relayState: login.relayState, presentedCookies: cookieJar({ [login.cookieName]: [hashBindingNonce(login.nonce)] }) })),
    RelayStateError,
  );
  t.equal(hashGiven.detail, 'browser_binding_mismatch', 'the sealed hash itself is not the nonce');
});

t.test('a sealed state without browser binding (not a login state) is refused with a retry link', async (t) => {
  const fake = setup();
  const relayState = await fake.sealer.seal({ requestId: '_logout-1', returnUrl: `https://${WIKI}/` });
  respond(fake);
  const error = await refusal(fake.completer.complete(input({ relayState, presentedCookies: () => ['anything'] })), RelayStateError);
  t.equal(error.detail, 'browser_binding_missing');
  t.equal(error.retryUrl, `https://${JIRA}/_sso/login?return=${encodeURIComponent(`https://${WIKI}/`)}`);
});

t.test('a sealed return URL no longer on a configured host is refused', async (t) => {
  const fake = setup();
  const login = await startedLogin(fake, 'https://removed.example.com/page');
  respond(fake);
  const error = await refusal(fake.completer.complete(input({ relayState: login.relayState, presentedCookies: cookieJar({ [login.cookieName]: [login.nonce] }) })), RelayStateError);
  t.equal(error.detail, 'return_url_not_allowed');
  t.same(fake.saml.validations, []);
});

t.test('a RelayState that looks sealed but does not open is refused, even with IdP-initiated logins on', async (t) => {
  const fake = setup({ allowIdpInitiated: true });
  respond(fake);
  await refusal(fake.completer.complete(input({ relayState: 'sealed.999' })), RelayStateError);
  t.same(fake.saml.validations, []);
});

t.test('unsolicited responses are refused when saml.allowIdpInitiated is off', async (t) => {
  const fake = setup({ allowIdpInitiated: false });
  respond(fake);
  for (const relayState of [undefined, '', `https://${JIRA}/browse/X`]) {
    const error = await refusal(fake.completer.complete(input({ relayState })), RelayStateError);
    t.equal(error.detail, 'unsolicited_disabled', `RelayState ${String(relayState)}`);
  }
  t.same(fake.saml.validations, []);
});

t.test('unsolicited responses with saml.allowIdpInitiated: no request expected, landing on a configured page or the start page', async (t) => {
  const fake = setup({ allowIdpInitiated: true });
  const cases: [string | undefined, string][] = [
    [undefined, `https://${JIRA}/start`],
    [`https://${WIKI}/display/X`, `https://${WIKI}/display/X`],
    ['/browse/PROJ-2', `https://${JIRA}/browse/PROJ-2`],
    ['https://evil.example.net/', `https://${JIRA}/start`],
    ['javascript:alert(1)', `https://${JIRA}/start`],
  ];
  for (const [index, [relayState, expected]] of cases.entries()) {
    respond(fake, {}, `unsolicited-${index}`);
    const attempt = new LoginAttempt();
    const done = await fake.completer.complete(input({ samlResponse: `unsolicited-${index}`, relayState, attempt }));
    t.equal(done.redirectUrl, expected, `RelayState ${String(relayState)}`);
    t.equal(done.unsolicited, true);
    t.equal(attempt.unsolicited, true);
    t.equal(done.setCookies.length, 1, 'no binding cookie to clear');
  }
  t.same(
    fake.saml.validations.map((validation) => validation.expectedRequestId),
    cases.map(() => null),
  );
});

t.test('an assertion is used once: a replay is refused and makes no session', async (t) => {
  const fake = setup({ allowIdpInitiated: true });
  respond(fake);
  await fake.completer.complete(input());
  const error = await refusal(fake.completer.complete(input()), SamlReplayError);
  t.equal(error.detail, 'assertion_reused');
  t.equal(fake.crowd.callsTo('createSession').length, 1);
  t.equal(fake.established.length, 1, 'the identity step is not run again');
});

t.test('a replay store that does not answer refuses the login (accepting would allow replays)', async (t) => {
  const fake = setup({ allowIdpInitiated: true });
  fake.replay.unavailable = true;
  respond(fake);
  await refusal(fake.completer.complete(input()), StoreUnavailableError);
  t.same(fake.crowd.callsTo('createSession'), []);
});

t.test('a SAML validation failure propagates; nothing is consumed', async (t) => {
  const fake = setup({ allowIdpInitiated: true });
  fake.saml.responses.set('response-1', new SamlSignatureError('forged'));
  await refusal(fake.completer.complete(input()), SamlSignatureError);
  t.equal(fake.replay.used.size, 0);
  t.same(fake.established, []);
});

t.test("the app's required authentication context: another or none is refused", async (t) => {
  const fake = setup({ allowIdpInitiated: true });
  const strict: LoginApp = { ...APP, requiredAuthnContext: { classRefs: [MFA, 'urn:example:hardware-key'] } };
  respond(fake, { authnContextClassRef: 'urn:password' }, 'weak');
  respond(fake, { authnContextClassRef: undefined }, 'none');
  respond(fake, { authnContextClassRef: 'urn:example:hardware-key' }, 'strong');
  respond(fake, { authnContextClassRef: undefined }, 'other-app');

  const weak = await refusal(fake.completer.complete(input({ samlResponse: 'weak', app: strict })), SamlConditionsError);
  t.equal(weak.detail, 'authn_context');
  t.match(weak.message, /is urn:password, but this app requires one of urn:example:mfa, urn:example:hardware-key/);
  t.match(weak.publicMessage, /stronger sign-in/);
  const none = await refusal(fake.completer.complete(input({ samlResponse: 'none', app: strict })), SamlConditionsError);
  t.match(none.message, /is missing/);
  t.same(fake.established, [], 'refused before the identity step');

  t.equal((await fake.completer.complete(input({ samlResponse: 'strong', app: strict }))).username, 'alice');
  t.equal((await fake.completer.complete(input({ samlResponse: 'other-app', host: WIKI, app: { ...APP, name: 'Confluence' } }))).username, 'alice', 'a host without requirement accepts any');
});

t.test('session store unavailable when recording: the login stands, sessionRecorded false', async (t) => {
  const fake = setup();
  const login = await startedLogin(fake);
  respond(fake);
  fake.sessions.unavailable = true;
  const done = await fake.completer.complete(input({ relayState: login.relayState, presentedCookies: cookieJar({ [login.cookieName]: [login.nonce] }) }));
  t.equal(done.sessionRecorded, false);
  t.equal(done.setCookies.length, 2, 'cookies set all the same');
  t.ok(fake.crowd.sessions.has(done.token));
});

t.test('other errors while recording the session are not swallowed', async (t) => {
  const fake = setup({ allowIdpInitiated: true });
  fake.sessions.record = async () => {
    throw new TypeError('a bug');
  };
  respond(fake);
  await t.rejects(fake.completer.complete(input()), TypeError);
});

t.test('identity or access refusals stop the login before any Crowd session exists', async (t) => {
  const identity = setup({ allowIdpInitiated: true });
  identity.refusals.identity = new AccessDeniedError('inactive', { detail: 'INACTIVE_ACCOUNT' });
  respond(identity);
  const attempt = new LoginAttempt();
  await refusal(identity.completer.complete(input({ attempt })), AccessDeniedError);
  t.equal(attempt.nameId, 'alice', 'the attempt knows who tried');
  t.same(identity.accessChecks, []);
  t.same(identity.crowd.callsTo('createSession'), []);

  const access = setup({ allowIdpInitiated: true });
  access.refusals.access = new AccessDeniedError('no group', { detail: 'app_access_restricted' });
  respond(access);
  await refusal(access.completer.complete(input({ app: { ...APP, access: { idpGroups: ['x'], crowdGroups: [], contact: undefined } } })), AccessDeniedError);
  t.same(access.crowd.callsTo('createSession'), []);
  t.equal(access.sessions.records.size, 0);
});

t.test('Crowd failing to create the session propagates; nothing is recorded', async (t) => {
  const fake = setup({ allowIdpInitiated: true });
  fake.crowd.failures.set('createSession', new CrowdUnavailableError('Crowd down'));
  respond(fake);
  await refusal(fake.completer.complete(input()), CrowdUnavailableError);
  t.equal(fake.sessions.records.size, 0);
});

/*
 * The session judge treats a missing record as a session the proxy did not create, which is valid unless
 * saml.requireSsoSession is on; so a login's record must outlive the limits it carries (it once expired exactly at
 * SessionNotOnOrAfter, removing the evidence at the very instant the session ended).
 */
t.test(
  "a login's record outlives the limits it carries: SessionNotOnOrAfter passed means expired, not unknown",
  async (t) => {
    const clock = { now: NOW };
    const fake = setup({ allowIdpInitiated: true, clock });
    respond(fake, { sessionNotOnOrAfterMs: NOW + 600_000 });
    const done = await fake.completer.complete(input());
    const judge = createSessionJudge({ sessions: fake.sessions, cacheTtlMs: 0, maxEntries: 10, now: () => clock.now });
    const limits = { maxSessionAgeMs: undefined, requireRecord: false, requiredClassRefs: undefined };
    t.equal(await judge.judge(done.token, limits), 'valid', 'before SessionNotOnOrAfter');
    clock.now = NOW + 601_000;
    t.equal(await judge.judge(done.token, limits), 'expired', 'after it, while Crowd still knows the session');
  },
);

t.test(
  'saml.maxSessionAgeSeconds longer than a day is enforced for a login without SessionNotOnOrAfter',
  async (t) => {
    const clock = { now: NOW };
    const fake = setup({ allowIdpInitiated: true, clock });
    respond(fake);
    const done = await fake.completer.complete(input());
    const judge = createSessionJudge({ sessions: fake.sessions, cacheTtlMs: 0, maxEntries: 10, now: () => clock.now });
    const limits = { maxSessionAgeMs: 48 * 3_600_000, requireRecord: false, requiredClassRefs: undefined };
    clock.now = NOW + 47 * 3_600_000;
    t.equal(await judge.judge(done.token, limits), 'valid');
    clock.now = NOW + 49 * 3_600_000;
    t.equal(await judge.judge(done.token, limits), 'too-old');
  },
);

t.test(
  "an IdP's LogoutRequest a day after the login still finds the session Crowd keeps alive",
  async (t) => {
    const clock = { now: NOW };
    const fake = setup({ allowIdpInitiated: true, clock });
    respond(fake, { sessionIndex: '_idx-1' });
    const done = await fake.completer.complete(input());
    const logout = createLogoutFlow({
      crowd: fake.crowd,
      tokenValidator: new FakeTokens(),
      sessions: fake.sessions,
      replay: fake.replay,
      saml: fake.saml,
      sealer: fake.sealer,
      onSessionEnded: () => {},
      announceEnded: async () => {},
      suppressLoginMs: 0,
    });
    fake.saml.logoutMessages.set('logout', {
      kind: 'request',
      id: '_idp-logout',
      issuer: 'https://idp.example.com',
      nameId: 'alice',
      nameIdFormat: undefined,
      sessionIndexes: ['_idx-1'],
      expiresAtMs: NOW + 30 * 3_600_000,
      relayState: undefined,
    });
    clock.now = NOW + 25 * 3_600_000;
    t.ok(fake.crowd.sessions.has(done.token), 'Crowd still has the session (used every day)');
    const outcome = await logout.acceptLogoutMessage({ binding: 'redirect', rawQuery: 'logout' }, 'slo');
    t.same(outcome.kind === 'idp-logout' ? outcome.ended.tokens : undefined, [done.token]);
    t.notOk(fake.crowd.sessions.has(done.token), 'ended at Crowd');
  },
);
