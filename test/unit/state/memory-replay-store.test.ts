import t from 'tap';
import { createMemoryReplayStore } from '../../../src/state/memory-replay-store.js';

t.test('an assertion ID is accepted once until it expires', async (t) => {
  const clock = { now: 1_000 };
  const store = createMemoryReplayStore({ now: () => clock.now });
  t.equal(await store.markUsed('_a1', 61_000), true);
  t.equal(await store.markUsed('_a1', 61_000), false, 'replayed');
  t.equal(await store.markUsed('_a2', 61_000), true, 'other IDs are independent');
  clock.now = 62_000;
  t.equal(await store.markUsed('_a1', 120_000), true, 'after expiry the assertion itself is refused by its own NotOnOrAfter');
});

t.test('memory stays bounded', async (t) => {
  const store = createMemoryReplayStore({ maxEntries: 10, now: () => 0 });
  for (let i = 0; i < 100; i++) t.equal(await store.markUsed(`_${i}`, 1_000), true);
  t.equal(await store.markUsed('_99', 1_000), false, 'recent IDs are still remembered');
});
