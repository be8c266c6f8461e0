import t from 'tap';
import { CrowdUnavailableError, StoreUnavailableError } from '../../../src/errors.js';
import { createSessionJudge } from '../../../src/flows/judge-session.js';
import type { SessionLimits } from '../../../src/policy/session-standing.js';
import { FakeSessionStore, sessionRecord } from './fakes.js';

const MFA = 'urn:example:mfa';
const PASSWORD = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';
const NO_LIMITS: SessionLimits = { maxSessionAgeMs: undefined, requireRecord: false, requiredClassRefs: undefined };

function setup(options: { cacheTtlMs?: number; maxEntries?: number } = {}) {
  const clock = { now: 1_000_000 };
  const sessions = new FakeSessionStore();
  const judge = createSessionJudge({ sessions, cacheTtlMs: options.cacheTtlMs ?? 0, maxEntries: options.maxEntries ?? 100, now: () => clock.now });
  return { clock, sessions, judge };
}

t.test('a recorded session within every limit is valid', async (t) => {
  const { sessions, judge } = setup();
  sessions.records.set('tok', sessionRecord('tok', { createdAtMs: 1_000_000 }));
  t.equal(await judge.judge('tok', NO_LIMITS), 'valid');
  t.equal(await judge.judge('tok', { ...NO_LIMITS, maxSessionAgeMs: 60_000, requireRecord: true }), 'valid');
});

t.test('maximum age: too-old from createdAt + maxSessionAgeMs on', async (t) => {
  const { clock, sessions, judge } = setup();
  sessions.records.set('tok', sessionRecord('tok', { createdAtMs: 1_000_000 }));
  const limits = { ...NO_LIMITS, maxSessionAgeMs: 60_000 };
  clock.now = 1_059_999;
  t.equal(await judge.judge('tok', limits), 'valid');
  clock.now = 1_060_000;
  t.equal(await judge.judge('tok', limits), 'too-old');
  t.equal(await judge.judge('tok', NO_LIMITS), 'valid', 'no maximum age: no limit');
});

t.test("the IdP's SessionNotOnOrAfter: expired from that instant on", async (t) => {
  const { clock, sessions, judge } = setup();
  sessions.records.set('tok', sessionRecord('tok', { createdAtMs: 1_000_000, sessionNotOnOrAfterMs: 1_030_000 }));
  clock.now = 1_029_999;
  t.equal(await judge.judge('tok', NO_LIMITS), 'valid');
  clock.now = 1_030_000;
  t.equal(await judge.judge('tok', NO_LIMITS), 'expired');
  t.equal(await judge.judge('tok', { ...NO_LIMITS, maxSessionAgeMs: 10_000 }), 'expired', 'expired is told before too-old');
});

t.test('required authentication context: valid with an accepted class, weak otherwise (step-up)', async (t) => {
  const { sessions, judge } = setup();
  sessions.records.set('mfa', sessionRecord('mfa', { authnContextClassRef: MFA }));
  sessions.records.set('pwd', sessionRecord('pwd', { authnContextClassRef: PASSWORD }));
  sessions.records.set('none', sessionRecord('none', { authnContextClassRef: undefined }));
  const limits = { ...NO_LIMITS, requiredClassRefs: [MFA] };
  t.equal(await judge.judge('mfa', limits), 'valid');
  t.equal(await judge.judge('pwd', limits), 'weak');
  t.equal(await judge.judge('none', limits), 'weak', 'no recorded context');
  t.equal(await judge.judge('unknown', limits), 'weak', 'a session without a record has no known context');
  t.equal(await judge.judge('pwd', NO_LIMITS), 'valid', 'an app requiring none accepts any');
});

t.test('a session the proxy has no record of: valid, unless saml.requireSsoSession makes it unrecorded', async (t) => {
  const { judge } = setup();
  t.equal(await judge.judge('app-made', NO_LIMITS), 'valid');
  t.equal(await judge.judge('app-made', { ...NO_LIMITS, maxSessionAgeMs: 1 }), 'valid', 'no record, no age to judge');
  t.equal(await judge.judge('app-made', { ...NO_LIMITS, requireRecord: true }), 'unrecorded');
});

t.test('store unavailable: judged without the record, unless a context or a record is required', async (t) => {
  const { sessions, judge } = setup({ cacheTtlMs: 60_000 });
  sessions.records.set('tok', sessionRecord('tok', { authnContextClassRef: MFA }));
  sessions.unavailable = true;
  t.equal(await judge.judge('tok', NO_LIMITS), 'valid');
  t.equal(judge.cachedValid('tok', NO_LIMITS), undefined, 'an answer made without the store is not cached');
  await t.rejects(judge.judge('tok', { ...NO_LIMITS, requiredClassRefs: [MFA] }), StoreUnavailableError, 'step-up could not be recorded either');
  await t.rejects(judge.judge('tok', { ...NO_LIMITS, requireRecord: true }), StoreUnavailableError);
});

t.test('other store errors propagate', async (t) => {
  const judge = createSessionJudge({
    sessions: {
      get: async () => {
        throw new CrowdUnavailableError('not a store error');
      },
    },
    cacheTtlMs: 0,
    maxEntries: 10,
  });
  await t.rejects(judge.judge('tok', NO_LIMITS), CrowdUnavailableError);
});

t.test('records are cached for cacheTtlMs: no store read while cached', async (t) => {
  const { clock, sessions, judge } = setup({ cacheTtlMs: 10_000 });
  sessions.records.set('tok', sessionRecord('tok'));
  t.equal(judge.cachedValid('tok', NO_LIMITS), undefined, 'not read yet');
  t.equal(await judge.judge('tok', NO_LIMITS), 'valid');
  t.equal(judge.cachedValid('tok', NO_LIMITS), 'valid');
  t.equal(await judge.judge('tok', NO_LIMITS), 'valid');
  t.same(sessions.reads, ['tok'], 'one read');
  clock.now += 10_000;
  t.equal(judge.cachedValid('tok', NO_LIMITS), undefined, 'expired from the cache');
  t.equal(await judge.judge('tok', NO_LIMITS), 'valid');
  t.same(sessions.reads, ['tok', 'tok'], 'read again after the TTL');
});

t.test('cacheTtlMs 0: the record is read on every request', async (t) => {
  const { sessions, judge } = setup({ cacheTtlMs: 0 });
  sessions.records.set('tok', sessionRecord('tok'));
  await judge.judge('tok', NO_LIMITS);
  await judge.judge('tok', NO_LIMITS);
  t.same(sessions.reads, ['tok', 'tok']);
  t.equal(judge.cachedValid('tok', NO_LIMITS), undefined);
});

t.test('a cached record that says "no longer good" is read again before acting on it', async (t) => {
  const { sessions, judge } = setup({ cacheTtlMs: 60_000 });
  sessions.records.set('tok', sessionRecord('tok', { authnContextClassRef: PASSWORD }));
  const limits = { ...NO_LIMITS, requiredClassRefs: [MFA] };
  t.equal(await judge.judge('tok', limits), 'weak');
  // Another instance records the step-up login for the same token.
  sessions.records.set('tok', sessionRecord('tok', { authnContextClassRef: MFA }));
  t.equal(judge.cachedValid('tok', limits), undefined, 'the cached record alone does not say valid');
  t.equal(await judge.judge('tok', limits), 'valid');
  t.equal(sessions.reads.length, 2);
});

t.test('cachedValid judges the cached record against the limits it is given', async (t) => {
  const { clock, sessions, judge } = setup({ cacheTtlMs: 60_000 });
  sessions.records.set('tok', sessionRecord('tok', { createdAtMs: 1_000_000 }));
  await judge.judge('tok', NO_LIMITS);
  t.equal(judge.cachedValid('tok', { ...NO_LIMITS, maxSessionAgeMs: 5_000 }), 'valid');
  clock.now += 5_000;
  t.equal(judge.cachedValid('tok', { ...NO_LIMITS, maxSessionAgeMs: 5_000 }), undefined, 'too old now: judge must decide');
  t.equal(judge.cachedValid('tok', NO_LIMITS), 'valid');
  t.equal(judge.cachedValid('tok', { ...NO_LIMITS, requiredClassRefs: [MFA] }), undefined);
});

t.test('a cached absence of record is judged too (unrecorded with requireRecord)', async (t) => {
  const { sessions, judge } = setup({ cacheTtlMs: 60_000 });
  t.equal(await judge.judge('app-made', NO_LIMITS), 'valid');
  t.equal(judge.cachedValid('app-made', NO_LIMITS), 'valid');
  t.equal(judge.cachedValid('app-made', { ...NO_LIMITS, requireRecord: true }), undefined);
  t.equal(await judge.judge('app-made', { ...NO_LIMITS, requireRecord: true }), 'unrecorded');
  t.same(sessions.reads, ['app-made', 'app-made']);
});

t.test('forget drops the cached record (after logout)', async (t) => {
  const { sessions, judge } = setup({ cacheTtlMs: 60_000 });
  sessions.records.set('tok', sessionRecord('tok'));
  await judge.judge('tok', NO_LIMITS);
  judge.forget('tok');
  t.equal(judge.cachedValid('tok', NO_LIMITS), undefined);
  sessions.records.delete('tok');
  t.equal(await judge.judge('tok', { ...NO_LIMITS, requireRecord: true }), 'unrecorded', 'read again: the record is gone');
});

t.test('the cache is bounded: the oldest entry goes first', async (t) => {
  const { sessions, judge } = setup({ cacheTtlMs: 60_000, maxEntries: 2 });
  for (const token of ['a', 'b', 'c']) {
    sessions.records.set(token, sessionRecord(token));
    await judge.judge(token, NO_LIMITS);
  }
  t.equal(judge.cachedValid('a', NO_LIMITS), undefined, 'evicted');
  t.equal(judge.cachedValid('b', NO_LIMITS), 'valid');
  t.equal(judge.cachedValid('c', NO_LIMITS), 'valid');
});
