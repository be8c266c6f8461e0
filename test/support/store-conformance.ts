/**
 * One conformance suite per store port, run against every implementation (memory, Redis), in the style of
 * oauth2-proxy's session-store tests. Each factory gets a controllable clock.
 */
import type { SessionRecord, SessionStore } from '../../src/state/session-store.js';
import type { ReplayStore } from '../../src/state/memory-replay-store.js';
import type { Test } from 'tap';

export interface Clock {
  now: number;
}

type Tap = Test;

export async function replayStoreConformance(t: Tap, create: (clock: Clock) => Promise<ReplayStore>): Promise<void> {
  await t.test('an assertion ID is accepted once until it expires', async (t) => {
    const clock = { now: 1_700_000_000_000 };
    const store = await create(clock);
    const id = `_a${Math.random().toString(16).slice(2)}`;
    t.equal(await store.markUsed(id, clock.now + 60_000), true);
    t.equal(await store.markUsed(id, clock.now + 60_000), false, 'replayed');
    t.equal(await store.markUsed(`${id}-other`, clock.now + 60_000), true, 'other IDs are independent');
  });
  await t.test('concurrent use of one ID: exactly one wins', async (t) => {
    const clock = { now: 1_700_000_000_000 };
    const store = await create(clock);
    const id = `_c${Math.random().toString(16).slice(2)}`;
    const results = await Promise.all(Array.from({ length: 20 }, () => store.markUsed(id, clock.now + 60_000)));
    t.equal(results.filter(Boolean).length, 1);
  });
}

export function sessionRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const token = overrides.token ?? `tok${Math.random().toString(36).slice(2)}`;
  return {
    token,
    username: 'alice',
    issuer: 'https://idp.example.com/',
    nameId: 'alice@example.com',
    nameIdFormat: undefined,
    sessionIndex: '_idx1',
    authnContextClassRef: 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport',
    createdAtMs: 1_700_000_000_000,
    sessionNotOnOrAfterMs: undefined,
    expiresAtMs: 1_700_000_000_000 + 3_600_000,
    ...overrides,
  };
}

export async function sessionStoreConformance(t: Tap, create: (clock: Clock) => Promise<SessionStore>): Promise<void> {
  await t.test('records are found by token and by SAML session', async (t) => {
    const clock = { now: 1_700_000_000_000 };
    const store = await create(clock);
    const nameId = `user${Math.random().toString(36).slice(2)}@example.com`;
    const a = sessionRecord({ nameId, sessionIndex: '_s1', idpGroups: ['jira-users', 'Staff Ünicode'] });
    const b = sessionRecord({ nameId, sessionIndex: '_s2' });
    await store.record(a);
    await store.record(b);
    t.same(await store.get(a.token), a);
    t.same(await store.findTokens(a.issuer, nameId, '_s1'), [a.token]);
    t.same((await store.findTokens(a.issuer, nameId, undefined)).sort(), [a.token, b.token].sort(), 'all sessions of the NameID');
    t.same(await store.findTokens('https://other-idp.example.com/', nameId, '_s1'), [], 'another IdP is another subject');
    await store.remove(a.token);
    t.equal(await store.get(a.token), undefined);
    t.same(await store.findTokens(a.issuer, nameId, undefined), [b.token]);
  });
  await t.test("the IdP groups of a login come back with its record (apps[].access at the gate); a record without them has none", async (t) => {
    const clock = { now: 1_700_000_000_000 };
    const store = await create(clock);
    const nameId = `groups${Math.random().toString(36).slice(2)}@example.com`;
    const withGroups = sessionRecord({ nameId, idpGroups: ['5e0f6b3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b', 'Jira Users'] });
    const without = sessionRecord({ nameId });
    await store.record(withGroups);
    await store.record(without);
    t.same((await store.get(withGroups.token))?.idpGroups, ['5e0f6b3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b', 'Jira Users']);
    t.equal((await store.get(without.token))?.idpGroups, undefined);
  });
  await t.test('expired records are gone', async (t) => {
    const clock = { now: 1_700_000_000_000 };
    const store = await create(clock);
    const record = sessionRecord({ expiresAtMs: clock.now + 1_000 });
    await store.record(record);
    t.ok(await store.get(record.token));
    clock.now += 2_000;
    t.equal(await store.get(record.token), undefined);
    t.same(await store.findTokens(record.issuer, record.nameId, record.sessionIndex), []);
  });
}
