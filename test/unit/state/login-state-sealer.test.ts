import { hkdfSync } from 'node:crypto';
import { EncryptJWT, decodeProtectedHeader, jwtDecrypt } from 'jose';
import t from 'tap';
import { RelayStateError } from '../../../src/errors.js';
import { createLoginStateSealer, looksSealed } from '../../../src/state/login-state-sealer.js';

const secret = new TextEncoder().encode('a-test-state-secret-of-at-least-32-bytes!');
const state = { requestId: '_0123456789abcdef', returnUrl: 'https://jira.example.com/browse/ABC-1?x=1' };

t.test('a sealed state opens on any instance with the same secret', async (t) => {
  const clock = { now: 1_700_000_000_000 };
  const a = createLoginStateSealer({ secret, ttlMs: 600_000, now: () => clock.now });
  const b = createLoginStateSealer({ secret, ttlMs: 600_000, now: () => clock.now });
  const sealed = await a.seal(state);
  t.ok(looksSealed(sealed));
  t.notMatch(sealed, /jira\.example\.com/, 'the return URL is encrypted, not just signed');
  t.ok(sealed.length < 600, `RelayState stays short (${sealed.length} chars)`);
  t.same(await b.open(sealed), state);
});

t.test('the browser binding travels sealed with a login state, and a logout state has none', async (t) => {
  const sealer = createLoginStateSealer({ secret, ttlMs: 600_000 });
  const login = { ...state, browserBinding: { id: 'AbCdEfGhIjKl', nonceHash: 'x'.repeat(43) } };
  const sealed = await sealer.seal(login);
  t.ok(sealed.length < 800, `RelayState stays short (${sealed.length} chars; some IdPs cap it)`);
  t.same(await sealer.open(sealed), login);
  t.notOk('browserBinding' in (await sealer.open(await sealer.seal(state))));
});

t.test('expired, tampered and foreign states are refused', async (t) => {
  const clock = { now: 1_700_000_000_000 };
  const sealer = createLoginStateSealer({ secret, ttlMs: 600_000, now: () => clock.now });
  const sealed = await sealer.seal(state);

  clock.now += 601_000;
  const expired = await sealer.open(sealed).catch((e: unknown) => e);
  t.type(expired, RelayStateError);
  t.equal((expired as RelayStateError).detail, 'relay_state_expired');
  clock.now -= 601_000;

  const parts = sealed.split('.');
  const ciphertext = parts[3] as string;
  parts[3] = (ciphertext[0] === 'A' ? 'B' : 'A') + ciphertext.slice(1);
  await t.rejects(sealer.open(parts.join('.')), RelayStateError, 'tampered ciphertext');

  const other = createLoginStateSealer({ secret: new TextEncoder().encode('another-secret-of-at-least-32-bytes-long'), ttlMs: 600_000, now: () => clock.now });
  await t.rejects(other.open(sealed), RelayStateError, 'sealed with another secret');
  await t.rejects(sealer.open('https://jira.example.com/'), RelayStateError, 'a URL is not a state');
  await t.rejects(sealer.open('x'.repeat(5000)), RelayStateError, 'oversized');
  await t.rejects(sealer.open(''), RelayStateError, 'empty');
});

/** The key the sealer derives from the secret, and its audience: what jose needs to seal and open as the sealer does. */
const key = new Uint8Array(hkdfSync('sha256', secret, new Uint8Array(0), 'crowd-sso-proxy login state v1', 32));
const AUDIENCE = 'crowd-sso-proxy:login-state';

t.test('a sealed state is a standard compact JWE that jose opens, with the audience and both times', async (t) => {
  const clock = { now: 1_700_000_000_000 };
  const sealer = createLoginStateSealer({ secret, ttlMs: 600_000, now: () => clock.now });
  const sealed = await sealer.seal({ ...state, browserBinding: { id: 'AbCdEfGhIjKl', nonceHash: 'x'.repeat(43) } });
  t.same(decodeProtectedHeader(sealed), { alg: 'dir', enc: 'A256GCM' });
  const { payload } = await jwtDecrypt(sealed, key, { audience: AUDIENCE, currentDate: new Date(clock.now), keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] });
  t.same(payload, { rid: state.requestId, ret: state.returnUrl, bid: 'AbCdEfGhIjKl', bnh: 'x'.repeat(43), aud: AUDIENCE, iat: 1_700_000_000, exp: 1_700_000_600 });
  t.not((await sealer.seal(state)).split('.')[2], (await sealer.seal(state)).split('.')[2], 'every state has its own IV');
});

t.test('a state sealed by jose (as earlier versions sealed them) opens, so instances of both versions can share logins', async (t) => {
  const sealer = createLoginStateSealer({ secret, ttlMs: 600_000 });
  const issuedAt = Math.floor(Date.now() / 1000);
  const sealed = await new EncryptJWT({ rid: state.requestId, ret: state.returnUrl, bid: 'AbCdEfGhIjKl', bnh: 'y'.repeat(43) })
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
    .setAudience(AUDIENCE)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + 600)
    .encrypt(key);
  t.same(await sealer.open(sealed), { ...state, browserBinding: { id: 'AbCdEfGhIjKl', nonceHash: 'y'.repeat(43) } });
});

t.test('looksSealed tells a state from an IdP-initiated RelayState URL', async (t) => {
  t.notOk(looksSealed('https://jira.example.com/browse/X-1'));
  t.notOk(looksSealed('/browse/X-1'));
  t.ok(looksSealed('eyJh.x.y.z.w'));
});
