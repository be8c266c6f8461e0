import t from 'tap';
import { createMemoryReplayStore } from '../../../src/state/memory-replay-store.js';
import { createMemorySessionStore } from '../../../src/state/memory-session-store.js';
import { replayStoreConformance, sessionRecord, sessionStoreConformance } from '../../support/store-conformance.js';

t.test('memory replay store conforms', (t) => replayStoreConformance(t, async (clock) => createMemoryReplayStore({ now: () => clock.now })));
t.test('memory session store conforms', (t) => sessionStoreConformance(t, async (clock) => createMemorySessionStore({ now: () => clock.now })));

t.test('memory stores stay bounded', async (t) => {
  const replay = createMemoryReplayStore({ maxEntries: 10, now: () => 0 });
  for (let i = 0; i < 100; i++) t.equal(await replay.markUsed(`_${i}`, 1_000), true);
  t.equal(await replay.markUsed('_99', 1_000), false, 'recent IDs are still remembered');

  const sessions = createMemorySessionStore({ maxEntries: 5, now: () => 0 });
  const records = Array.from({ length: 20 }, (_, i) => sessionRecord({ token: `t${i}`, nameId: 'same@example.com', sessionIndex: `_${i}`, expiresAtMs: 10_000 }));
  for (const record of records) await sessions.record(record);
  t.equal((await sessions.findTokens(records[0]!.issuer, 'same@example.com', undefined)).length, 5, 'the subject index shrinks with the LRU');
});
