/**
 * The forward flow on its own: a preset app's real policy, the real authenticator over a fake token cache, the real
 * session judge over a fake store, the real apps[].access enforcer over fake group lookups. Each test reads the
 * decision the flow returns, the context fields it fills in, and what it asked of Crowd and the store.
 */
import t from 'tap';
import type { RawEmergencyAccess } from '../../../src/config/validate-app-rules.js';
import { compileAppRules } from '../../../src/config/compile-app-rules.js';
import { compileAccessRestriction, type RawAccessRestriction } from '../../../src/config/identity-config.js';
import { AccessDeniedError, AppRefusedSessionError } from '../../../src/errors.js';
import { createAuthenticator } from '../../../src/flows/authenticate.js';
import { createAccessEnforcer } from '../../../src/flows/enforce-access-restriction.js';
import {
  createForwardRequestFlow,
  type ForwardDecision,
  type ForwardRequestContext,
  type ForwardRequestSite,
  type RequestHead,
} from '../../../src/flows/forward-request.js';
import { createSessionJudge } from '../../../src/flows/judge-session.js';
import { createAppPolicy } from '../../../src/policy/app-policy.js';
import { SIGNED_OUT_MARKER } from '../../../src/policy/signed-out-marker.js';
import { testAppConfig } from '../../support/app-config.js';
import { crowdSession, FakeCrowd, FakeCrowdGroups, FakeSessionStore, FakeTokens, sessionRecord } from './fakes.js';

const IP = '192.0.2.10';
const KEY = `key:${IP}`;
const COOKIE = 'crowd.token_key';
const EMERGENCY_SECRET = 'a-secret-of-sixteen-chars';

/** Paths of the Jira preset (src/config/app-presets.ts). */
const PAGE = '/browse/DEMO-1';
const LOGIN_PAGE = '/login.jsp';
const PUBLIC = '/status';
const REST = '/rest/api/2/issue/DEMO-1';
const LOGOUT = '/secure/Logout!default.jspa';

/** A browser's top-level navigation to a page. */
const NAVIGATION = { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', accept: 'text/html,application/xhtml+xml' };
/** A script asking for JSON. */
const API_CLIENT = { accept: 'application/json' };
const BASIC = 'Basic c2NyaXB0OnNlY3JldA==';

interface SetupOptions {
  /** Whether Crowd's cookie configuration is cached before the first request (default: yes). */
  readonly cookieCached?: boolean;
  readonly access?: RawAccessRestriction;
  readonly checkAsApp?: ForwardRequestSite['checkAsApp'];
  readonly passCrowdCookieFromCredentials?: boolean;
  readonly emergencyAccess?: RawEmergencyAccess;
}

function setup(options: SetupOptions = {}) {
  const crowd = new FakeCrowd();
  const tokens = new FakeTokens();
  const sessions = new FakeSessionStore();
  const crowdGroups = new FakeCrowdGroups();
  // Like the Crowd adapter: the configuration is cached once Crowd has been asked.
  let cookieCached = options.cookieCached ?? true;
  const authenticator = createAuthenticator({
    tokenValidator: tokens,
    validationFactors: (clientIp) => ({ factors: [{ name: 'remote_address', value: clientIp }], cacheKey: `key:${clientIp}` }),
    factorsCacheKey: (clientIp) => `key:${clientIp}`,
  });
  const judge = createSessionJudge({ sessions, cacheTtlMs: 60_000, maxEntries: 100, now: () => 1_000_000 });
  const app = testAppConfig({
    name: 'Jira',
    hosts: ['jira.example.com'],
    upstream: new URL('http://127.0.0.1:1'),
    passCrowdCookieFromCredentials: options.passCrowdCookieFromCredentials ?? false,
    access: compileAccessRestriction(options.access),
    ...compileAppRules(
      { preset: 'jira', ...(options.emergencyAccess === undefined ? {} : { emergencyAccess: options.emergencyAccess }) },
      0,
      { mode: 'enforce', comparison: 'exact' },
      EMERGENCY_SECRET,
    ),
  });
  const policy = createAppPolicy(app, {
    maxSessionAgeMs: undefined,
    requireSsoSession: false,
    forceAuthnOnReauth: false,
    isEmergencyNetwork: (clientIp) => clientIp.startsWith('10.'),
  });
  const site: ForwardRequestSite = { app, policy, checkAsApp: options.checkAsApp };
  const flow = createForwardRequestFlow({
    cookieConfig: async () => {
      const cookie = await crowd.getCookieConfig();
      cookieCached = true;
      return cookie;
    },
    cachedCookieConfig: () => (cookieCached ? crowd.cookie : undefined),
    authenticator,
    accessEnforcer: createAccessEnforcer({ sessions, crowdGroups }),
    sessionJudge: judge,
  });

  /** A Crowd session Crowd holds valid, recorded at an SSO login. */
  function signedIn(token: string, username = 'alice'): void {
    tokens.crowd.set(token, crowdSession(token, username));
    sessions.records.set(token, sessionRecord(token, { username }));
  }

  /** The same, with every answer already cached: the token's validation and the session record. */
  async function cached(token: string, username = 'alice'): Promise<void> {
    signedIn(token, username);
    tokens.remember(token, KEY, crowdSession(token, username));
    await judge.judge(token, policy.sessionLimits);
  }

  return { crowd, tokens, sessions, crowdGroups, site, flow, signedIn, cached };
}

function context(path: string, options: { query?: string; clientIp?: string } = {}): ForwardRequestContext {
  return { path, query: options.query ?? '', clientIp: options.clientIp ?? IP, user: undefined, cookieHeader: undefined, dropSetCookie: undefined, sessionToken: undefined };
}

function get(headers: Record<string, string>): RequestHead {
  return { method: 'GET', headers };
}

/** `kind/why` of a decision, one string to compare. */
function outcome(decided: ForwardDecision): string {
  return `${decided.decision.kind}/${decided.decision.why}`;
}

/** The decision, which must have come without a promise (the caches, or no session needed, settled it). */
function atOnce(decided: ForwardDecision | Promise<ForwardDecision>, why: string): ForwardDecision {
  if (decided instanceof Promise) throw new Error(`a promise, though ${why}`);
  return decided;
}

/** The pending decision, which must be a promise (something outside the caches had to be asked). */
function later(decided: ForwardDecision | Promise<ForwardDecision>, why: string): Promise<ForwardDecision> {
  if (!(decided instanceof Promise)) throw new Error(`decided at once, though ${why}`);
  return decided;
}

t.test('hot path: cached cookie configuration, token and session record decide at once, without a promise', async (t) => {
  const { crowd, tokens, sessions, site, flow, cached } = setup();
  await cached('good');
  const readsBefore = sessions.reads.length;
  const ctx = context(PAGE);
  const req = get({ ...API_CLIENT, cookie: `${COOKIE}=good; JSESSIONID=abc` });

  const decided = atOnce(flow.decide(req, ctx, site, true), 'every answer is cached');
  t.equal(outcome(decided), 'forward/session');
  t.equal(decided.session.state, 'valid');
  t.equal(decided.session.authenticated?.token, 'good');
  t.equal(ctx.user, 'alice');
  t.same(tokens.validated, [], 'Crowd not asked about the token');
  t.same(crowd.calls, [], 'nor for its cookie configuration');
  t.equal(sessions.reads.length, readsBefore, 'the session store not read');

  t.equal(flow.prepareForward(req, ctx, site.app, decided), undefined, 'prepared at once too');
  t.equal(ctx.sessionToken, 'good');
});

t.test('hot path: a token known invalid, or no Crowd cookie, is settled from the caches too', async (t) => {
  const { tokens, site, flow } = setup();
  tokens.remember('stale', KEY, null);
  for (const cookie of [`${COOKIE}=stale`, 'JSESSIONID=abc', undefined]) {
    const ctx = context(PAGE);
    const decided = atOnce(flow.decide(get({ ...NAVIGATION, ...(cookie === undefined ? {} : { cookie }) }), ctx, site, true), `the caches settle cookie ${String(cookie)}`);
    t.equal(outcome(decided), 'login/no-session', `cookie ${String(cookie)}`);
    t.equal(ctx.user, undefined);
  }
  t.same(tokens.validated, []);
});

t.test('a valid cached token whose record is not cached yet goes to the store, then the next request is on the hot path', async (t) => {
  const { sessions, tokens, site, flow, signedIn } = setup();
  signedIn('good');
  tokens.remember('good', KEY, crowdSession('good', 'alice'));
  const req = get({ ...API_CLIENT, cookie: `${COOKIE}=good` });

  t.equal(outcome(await later(flow.decide(req, context(PAGE), site, true), 'the record must be read')), 'forward/session');
  t.same(sessions.reads, ['good']);

  const ctx = context(PAGE);
  t.equal(outcome(atOnce(flow.decide(req, ctx, site, true), 'the record is cached now')), 'forward/session');
  t.equal(ctx.user, 'alice');
  t.same(sessions.reads, ['good'], 'read once');
});

t.test("first request: Crowd's cookie configuration is asked for, and its cookie name is the one read", async (t) => {
  const { crowd, tokens, site, flow, signedIn } = setup({ cookieCached: false });
  crowd.cookie = { name: 'corp.sso', domain: '.example.com', secure: true };
  signedIn('good');
  signedIn('other', 'bob');
  const req = get({ ...API_CLIENT, cookie: `${COOKIE}=other; corp.sso=good; Corp.SSO=stale` });
  const ctx = context(PAGE);

  const decided = await later(flow.decide(req, ctx, site, true), 'the cookie configuration is not known yet');
  t.equal(outcome(decided), 'forward/session');
  t.same(decided.session.cookie, crowd.cookie);
  t.equal(ctx.user, 'alice', 'the session of the corp.sso cookie');
  t.same(crowd.callsTo('getCookieConfig'), [[]]);
  t.same(tokens.validated.map((call) => call.token), ['good'], 'a cookie of another name is not a candidate');

  t.equal(flow.prepareForward(req, ctx, site.app, decided), undefined, 'the name comes with the decision');
  t.equal(ctx.cookieHeader, `corp.sso=good; ${COOKIE}=other`, "exactly the valid one of Crowd's name, first; a cookie of another name kept");
  t.equal(ctx.sessionToken, 'good');

  t.equal(outcome(atOnce(flow.decide(req, context(PAGE), site, true), 'the next request is on the hot path')), 'forward/session');
  t.same(crowd.callsTo('getCookieConfig'), [[]], 'asked once');
});

t.test('no valid session: login for a browser navigation, 401 for an API client', async (t) => {
  const { tokens, site, flow } = setup();
  for (const cookie of [`${COOKIE}=junk`, `${COOKIE}=`, undefined]) {
    const jar: Record<string, string> = cookie === undefined ? {} : { cookie };
    const browser = context(PAGE);
    t.equal(outcome(await flow.decide(get({ ...NAVIGATION, ...jar }), browser, site, true)), 'login/no-session', `navigation, cookie ${String(cookie)}`);
    t.equal(browser.user, undefined);
    const script = context(PAGE);
    t.equal(outcome(await flow.decide(get({ ...API_CLIENT, ...jar }), script, site, true)), 'deny-401/no-session', `API client, cookie ${String(cookie)}`);
    t.equal(script.user, undefined);
  }
  t.equal(outcome(await flow.decide({ method: 'POST', headers: { ...NAVIGATION, cookie: `${COOKIE}=junk` } }, context(PAGE), site, true)), 'deny-401/no-session', 'a form post is not redirected');
  t.same(tokens.validated.map((call) => call.token), ['junk'], 'the junk token asked about once, then cached invalid');
});

t.test('duplicate Crowd cookies: the app gets exactly the valid one, every other cookie kept', async (t) => {
  const { tokens, site, flow, signedIn } = setup();
  signedIn('good');
  const req = get({ ...API_CLIENT, cookie: `${COOKIE}=; ${COOKIE}=junk; JSESSIONID=abc; ${COOKIE}=good; CROWD.TOKEN_KEY=other; seraph.rememberme=x` });
  const ctx = context(PAGE);

  const decided = await flow.decide(req, ctx, site, true);
  t.equal(outcome(decided), 'forward/session');
  t.equal(ctx.user, 'alice');
  t.same(tokens.validated.map((call) => call.token), ['junk', 'good'], 'the empty one is no candidate; the junk one before the valid one');

  await flow.prepareForward(req, ctx, site.app, decided);
  t.equal(ctx.cookieHeader, `${COOKIE}=good; JSESSIONID=abc; seraph.rememberme=x`);
  t.equal(ctx.cookieHeader?.match(/crowd\.token_key/gi)?.length, 1, 'one Crowd cookie, in any spelling');
  t.equal(ctx.sessionToken, 'good');
  t.equal(ctx.dropSetCookie, undefined);
});

t.test('quoted and comma-joined copies: the app gets the bare valid cookie only', async (t) => {
  const { site, flow, signedIn } = setup();
  signedIn('good');
  for (const [cookie, sent] of [
    [`${COOKIE}="good"`, `${COOKIE}=good`],
    [`a=1, ${COOKIE}=evil; ${COOKIE}=good; b=2`, `${COOKIE}=good; b=2`],
  ] as const) {
    const req = get({ ...API_CLIENT, cookie });
    const ctx = context(PAGE);
    const decided = await flow.decide(req, ctx, site, true);
    t.equal(outcome(decided), 'forward/session', cookie);
    await flow.prepareForward(req, ctx, site.app, decided);
    t.equal(ctx.cookieHeader, sent, cookie);
  }
});

t.test('a Cookie header that already is exactly the valid Crowd cookie goes upstream as it came', async (t) => {
  const { site, flow, signedIn } = setup();
  signedIn('good');
  for (const cookie of [`${COOKIE}=good`, `JSESSIONID=abc; ${COOKIE}=good`]) {
    const req = get({ ...API_CLIENT, cookie });
    const ctx = context(PAGE);
    const decided = await flow.decide(req, ctx, site, true);
    t.equal(outcome(decided), 'forward/session');
    await flow.prepareForward(req, ctx, site.app, decided);
    t.equal(ctx.cookieHeader, undefined, cookie);
    t.equal(ctx.sessionToken, 'good');
  }
});

t.test('public path: forwarded anonymously without asking Crowd, the Crowd cookie removed in every spelling', async (t) => {
  const { crowd, tokens, sessions, site, flow, signedIn } = setup();
  signedIn('good');
  const req = get({ ...NAVIGATION, cookie: `${COOKIE}=good; JSESSIONID=abc; Crowd.Token_Key=x; ${COOKIE}; a=1, ${COOKIE}=y; b=2` });
  const ctx = context(PUBLIC);

  const decided = atOnce(flow.decide(req, ctx, site, true), 'a public path needs no session');
  t.equal(outcome(decided), 'forward-anonymous/public');
  t.equal(decided.session.state, 'none');
  t.equal(ctx.user, undefined);
  t.same(tokens.validated, []);
  t.same(sessions.reads, []);

  t.equal(flow.prepareForward(req, ctx, site.app, decided), undefined);
  t.equal(ctx.cookieHeader, 'JSESSIONID=abc; b=2', 'also the comma-joined pair a legacy parser would split');
  t.equal(ctx.sessionToken, undefined);
  t.equal(ctx.dropSetCookie, undefined);
  t.same(crowd.calls, []);

  const plain = get({ cookie: 'JSESSIONID=abc' });
  const plainCtx = context(PUBLIC);
  flow.prepareForward(plain, plainCtx, site.app, atOnce(flow.decide(plain, plainCtx, site, true), 'a public path needs no session'));
  t.equal(plainCtx.cookieHeader, undefined, 'no Crowd cookie: the header as it came');

  const onlyCrowd = get({ cookie: `${COOKIE}=good` });
  const onlyCrowdCtx = context(PUBLIC);
  flow.prepareForward(onlyCrowd, onlyCrowdCtx, site.app, atOnce(flow.decide(onlyCrowd, onlyCrowdCtx, site, true), 'a public path needs no session'));
  t.equal(onlyCrowdCtx.cookieHeader, '', 'nothing left: no Cookie header at all');
});

t.test('prepareForward asks Crowd for the cookie name when the decision needed no session and none is cached', async (t) => {
  const { crowd, site, flow } = setup({ cookieCached: false });
  const req = get({ cookie: `${COOKIE}=good; JSESSIONID=abc` });
  const ctx = context(PUBLIC);
  const decided = atOnce(flow.decide(req, ctx, site, true), 'a public path needs no session');
  t.same(crowd.calls, [], 'deciding a public path needs nothing from Crowd');
  const prepared = flow.prepareForward(req, ctx, site.app, decided);
  t.ok(prepared instanceof Promise);
  await prepared;
  t.equal(ctx.cookieHeader, 'JSESSIONID=abc');
  t.same(crowd.callsTo('getCookieConfig'), [[]]);
});

t.test('credentials path with Basic auth: forwarded without a session, the Crowd session the app makes is dropped', async (t) => {
  const { tokens, sessions, site, flow, signedIn } = setup();
  signedIn('good');
  const req = get({ authorization: BASIC, cookie: `${COOKIE}=good; JSESSIONID=abc` });
  const ctx = context(REST);

  const decided = atOnce(flow.decide(req, ctx, site, true), 'credentials of its own need no session');
  t.equal(outcome(decided), 'forward-anonymous/credentials');
  t.equal(ctx.user, undefined);
  t.same(tokens.validated, [], 'the Crowd cookie is not validated');
  t.same(sessions.reads, []);

  flow.prepareForward(req, ctx, site.app, decided);
  t.equal(ctx.cookieHeader, 'JSESSIONID=abc', 'the app checks the Basic credentials, not a Crowd cookie');
  t.equal(ctx.dropSetCookie, COOKIE);
  t.equal(ctx.sessionToken, undefined);
});

t.test('credentials path with apps[].passCrowdCookieFromCredentials: the Crowd cookie still removed, its Set-Cookie kept', async (t) => {
  const { site, flow } = setup({ passCrowdCookieFromCredentials: true });
  const req = get({ authorization: BASIC, cookie: `${COOKIE}=good; JSESSIONID=abc` });
  const ctx = context(REST);
  const decided = atOnce(flow.decide(req, ctx, site, true), 'credentials of its own need no session');
  t.equal(outcome(decided), 'forward-anonymous/credentials');
  flow.prepareForward(req, ctx, site.app, decided);
  t.equal(ctx.cookieHeader, 'JSESSIONID=abc');
  t.equal(ctx.dropSetCookie, undefined);
});

t.test('credentials path without credentials: a session path like any other', async (t) => {
  const { site, flow, signedIn } = setup();
  signedIn('good');
  const withSession = context(REST);
  t.equal(outcome(await flow.decide(get({ ...API_CLIENT, cookie: `${COOKIE}=good` }), withSession, site, true)), 'forward/session');
  t.equal(withSession.user, 'alice');
  t.equal(outcome(await flow.decide(get({ ...API_CLIENT, authorization: 'Negotiate abc' }), context(REST), site, true)), 'deny-401/no-session', 'a scheme the app does not check itself');
});

t.test('apps[].access: a user outside the listed groups is refused with AccessDeniedError, even with every answer cached', async (t) => {
  const { crowdGroups, site, flow, cached } = setup({ access: { crowdGroups: ['jira-users'] } });
  await cached('good');
  crowdGroups.byUser.set('alice', ['confluence-users']);
  const ctx = context(PAGE);

  await t.rejects(later(flow.decide(get({ ...NAVIGATION, cookie: `${COOKIE}=good` }), ctx, site, true), 'apps[].access is never settled from the caches'), AccessDeniedError);
  t.equal(ctx.user, 'alice', 'the user is known for the log line');
  t.same(crowdGroups.asked, ['alice']);
});

t.test('apps[].access: a member of a listed group is forwarded', async (t) => {
  const { crowdGroups, site, flow, signedIn } = setup({ access: { crowdGroups: ['jira-users'] } });
  signedIn('good');
  crowdGroups.byUser.set('alice', ['JIRA-USERS']);
  const ctx = context(PAGE);
  t.equal(outcome(await flow.decide(get({ ...API_CLIENT, cookie: `${COOKIE}=good` }), ctx, site, true)), 'forward/session');
  t.equal(ctx.user, 'alice');
  t.same(crowdGroups.asked, ['alice']);

  const anonymous = context(PAGE);
  t.equal(outcome(await flow.decide(get(API_CLIENT), anonymous, site, true)), 'deny-401/no-session', 'no session: nothing to check');
  t.same(crowdGroups.asked, ['alice']);
});

t.test('apps[].crowdApplication: checked with the user, token and client address; its refusal propagates', async (t) => {
  const checks: [string, string, string][] = [];
  let refusal: Error | undefined;
  const checkAsApp = async (user: string, token: string, clientIp: string): Promise<void> => {
    checks.push([user, token, clientIp]);
    if (refusal !== undefined) throw refusal;
  };
  const { site, flow, cached } = setup({ checkAsApp });
  await cached('good');
  const req = get({ ...API_CLIENT, cookie: `${COOKIE}=good` });

  t.equal(outcome(await later(flow.decide(req, context(PAGE), site, true), "the app's own check is never settled from the flow's caches")), 'forward/session');
  t.same(checks, [['alice', 'good', IP]]);

  refusal = new AppRefusedSessionError('Crowd application "jira" refuses the session of user "alice"');
  await t.rejects(later(flow.decide(req, context(PAGE), site, true), 'the app checks'), AppRefusedSessionError);
  refusal = new AccessDeniedError('user "alice" may not use Crowd application "jira"');
  await t.rejects(later(flow.decide(req, context(PAGE), site, true), 'the app checks'), AccessDeniedError);
  t.equal(checks.length, 3);

  await flow.decide(get(API_CLIENT), context(PAGE), site, true);
  t.equal(checks.length, 3, 'no session: not checked');
});

t.test("logout path: decision 'logout', the Crowd cookies listed for the proxy to end and removed from what the app gets", async (t) => {
  const { tokens, sessions, site, flow, signedIn } = setup();
  signedIn('good');
  const req = get({ ...NAVIGATION, cookie: `${COOKIE}=good; JSESSIONID=abc; ${COOKIE}=old; CROWD.TOKEN_KEY=x` });
  const ctx = context(LOGOUT);

  const decided = await flow.decide(req, ctx, site, true);
  t.equal(outcome(decided), 'logout/logout');
  t.equal(ctx.user, undefined, 'the session is not looked up');
  t.same(tokens.validated, []);
  t.same(sessions.reads, []);
  t.same(await flow.crowdCookies(req), ['good', 'old']);

  await flow.prepareForward(req, ctx, site.app, decided);
  t.equal(ctx.cookieHeader, 'JSESSIONID=abc', 'the app ends its own session without seeing a Crowd token');
  t.equal(ctx.sessionToken, undefined);
  t.equal(ctx.dropSetCookie, undefined);
});

t.test('logout path without a Crowd cookie: forwarded anonymously, the header as it came', async (t) => {
  const { crowd, site, flow } = setup({ cookieCached: false });
  const req = get({ ...NAVIGATION, cookie: `JSESSIONID=abc; ${COOKIE}=` });
  const ctx = context(LOGOUT);
  const decided = await flow.decide(req, ctx, site, true);
  t.equal(outcome(decided), 'forward-anonymous/logout-without-session', 'an empty Crowd cookie is nothing to end');
  t.same(crowd.callsTo('getCookieConfig'), [[]], 'the cookie name asked of Crowd');
  t.same(await flow.crowdCookies(req), []);
  await flow.prepareForward(req, ctx, site.app, decided);
  t.equal(ctx.cookieHeader, 'JSESSIONID=abc', 'the empty Crowd cookie removed all the same');
});

t.test("the signed-out marker: the app's login page without a session shows the signed-out page instead of a login", async (t) => {
  const { tokens, site, flow, signedIn } = setup();
  signedIn('good');
  tokens.remember('junk', KEY, null);
  const marker = `${SIGNED_OUT_MARKER}=1`;

  t.equal(outcome(await flow.decide(get({ ...NAVIGATION, cookie: marker }), context(LOGIN_PAGE), site, true)), 'signed-out/after-logout');
  t.equal(outcome(await flow.decide(get({ ...NAVIGATION, cookie: `${COOKIE}=junk; ${marker}` }), context(LOGIN_PAGE), site, true)), 'signed-out/after-logout', 'with a dead Crowd cookie');
  t.equal(outcome(await flow.decide(get({ ...NAVIGATION }), context(LOGIN_PAGE), site, true)), 'login/no-session', 'without the marker');
  t.equal(outcome(await flow.decide(get({ ...NAVIGATION, cookie: marker }), context(PAGE), site, true)), 'login/no-session', 'another page signs in as usual');
  t.equal(outcome(await flow.decide(get({ ...API_CLIENT, cookie: marker }), context(LOGIN_PAGE), site, true)), 'deny-401/no-session', 'not a navigation');

  const ctx = context(LOGIN_PAGE);
  t.equal(outcome(await flow.decide(get({ ...NAVIGATION, cookie: `${COOKIE}=good; ${marker}` }), ctx, site, true)), 'forward/session', 'a signed-in browser reaches the page');
  t.equal(ctx.user, 'alice');
});

t.test('mayNavigate false (a WebSocket upgrade): never a login, a 401 instead', async (t) => {
  const { tokens, site, flow, signedIn } = setup();
  signedIn('good');
  tokens.remember('junk', KEY, null);
  for (const [path, cookie] of [
    [PAGE, undefined],
    [PAGE, `${COOKIE}=junk`],
    [LOGIN_PAGE, `${SIGNED_OUT_MARKER}=1`],
  ] as const) {
    const ctx = context(path);
    const decided = await flow.decide(get({ ...NAVIGATION, ...(cookie === undefined ? {} : { cookie }) }), ctx, site, false);
    t.equal(outcome(decided), 'deny-401/no-session', `${path}, cookie ${String(cookie)}`);
  }
  const ctx = context(PAGE);
  t.equal(outcome(await flow.decide(get({ ...NAVIGATION, cookie: `${COOKIE}=good` }), ctx, site, false)), 'forward/session', 'a valid session is forwarded');
  t.equal(ctx.user, 'alice');
});

t.test('emergency access: forwarded without SSO from the allowed network with the secret, and without any Crowd cookie', async (t) => {
  const { tokens, site, flow, signedIn } = setup({
    emergencyAccess: { query: 'nosso', allowFrom: ['10.0.0.0/8'], secretHeader: { name: 'X-Break-Glass', value: 'ignored' } },
  });
  signedIn('good');
  const req = get({ ...NAVIGATION, 'x-break-glass': EMERGENCY_SECRET, cookie: `${COOKIE}=good; JSESSIONID=abc` });
  const ctx = context(LOGIN_PAGE, { query: 'nosso', clientIp: '10.1.2.3' });

  const decided = atOnce(flow.decide(req, ctx, site, true), 'emergency access needs no session');
  t.equal(outcome(decided), 'emergency/emergency');
  t.same(tokens.validated, []);
  flow.prepareForward(req, ctx, site.app, decided);
  t.equal(ctx.cookieHeader, 'JSESSIONID=abc');
  t.equal(ctx.sessionToken, undefined);
  t.equal(ctx.user, undefined);

  const refused = (headers: Record<string, string>, clientIp: string) => outcome(atOnce(flow.decide(get(headers), context(LOGIN_PAGE, { query: 'nosso', clientIp }), site, true), 'emergency access needs no session'));
  t.equal(refused({ ...NAVIGATION }, '10.1.2.3'), 'deny-403/emergency-refused', 'without the secret');
  t.equal(refused({ ...NAVIGATION, 'x-break-glass': EMERGENCY_SECRET }, IP), 'deny-403/emergency-refused', 'from another network');
});
