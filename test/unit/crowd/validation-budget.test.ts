import t from 'tap';
import { budgetKey } from '../../../src/policy/address-matcher.js';
import { createValidationBudget, type ReleaseSlot, type ValidationBudgetOptions, type ValidationRefusal } from '../../../src/crowd/validation-budget.js';

function setup(overrides: Partial<ValidationBudgetOptions> = {}) {
  const clock = { ms: 1_700_000_000_000 };
  const refusals: ValidationRefusal[] = [];
  const budget = createValidationBudget({
    maxInFlightPerClient: 2,
    perClientPerSecond: 5,
    maxInFlight: 3,
    maxWaiting: 2,
    maxWaitMs: 1_000,
    clientKey: budgetKey,
    now: () => clock.ms,
    onRefused: (refusal) => refusals.push(refusal),
    ...overrides,
  });
  /** The slot, synchronously; throws when the call would have to wait. */
  const admitNow = (clientIp: string): ReleaseSlot | undefined => {
    const slot = budget.admit(clientIp);
    if (slot instanceof Promise) throw new Error(`${clientIp} has to wait`);
    return slot;
  };
  return { clock, refusals, budget, admitNow };
}

t.test('one client: at most maxInFlightPerClient at once; a finished call makes room', async (t) => {
  const { admitNow, refusals } = setup();
  const first = admitNow('198.51.100.7');
  t.type(first, 'function');
  t.type(admitNow('198.51.100.7'), 'function');
  t.equal(admitNow('198.51.100.7'), undefined, 'the third at once is refused');
  t.match(refusals, [{ client: '198.51.100.7', limit: 'client_in_flight', warn: true, refusedSinceWarn: 0 }]);
  first?.();
  first?.();
  t.type(admitNow('198.51.100.7'), 'function', 'room again (a second release of the same slot changes nothing)');
  t.equal(admitNow('198.51.100.7'), undefined);
});

t.test('one client: perClientPerSecond calls in a burst, then as many per second as the bucket refills', async (t) => {
  const { admitNow, refusals, clock } = setup({ maxInFlightPerClient: 100, maxInFlight: 100 });
  for (let i = 0; i < 5; i++) admitNow('198.51.100.7')?.();
  t.equal(admitNow('198.51.100.7'), undefined, 'the sixth in the same instant is refused');
  t.equal(refusals[0]?.limit, 'client_rate');
  clock.ms += 199;
  t.equal(admitNow('198.51.100.7'), undefined, 'less than one call refilled');
  clock.ms += 1;
  t.type(admitNow('198.51.100.7'), 'function', 'one call refilled after 1/5 s');
  clock.ms += 60_000;
  for (let i = 0; i < 5; i++) t.type(admitNow('198.51.100.7'), 'function');
  t.equal(admitNow('198.51.100.7'), undefined, 'the bucket holds no more than perClientPerSecond');
  t.type(admitNow('203.0.113.9'), 'function', 'another client has its own budget');
});

t.test('all clients: beyond maxInFlight calls wait their turn, up to maxWaiting; the next free slot goes to the first waiting', async (t) => {
  const { budget, admitNow, refusals } = setup();
  const running = ['192.0.2.1', '192.0.2.2', '192.0.2.3'].map((ip) => admitNow(ip));
  const second = budget.admit('192.0.2.4');
  const third = budget.admit('192.0.2.5');
  t.ok(second instanceof Promise && third instanceof Promise, 'waiting');
  t.equal(admitNow('192.0.2.6'), undefined, 'refused: maxInFlight running and maxWaiting waiting');
  t.equal(refusals.at(-1)?.limit, 'all_clients');
  running[0]?.();
  t.type(await second, 'function', 'the first waiting got the free slot');
  running[1]?.();
  t.type(await third, 'function');
});

t.test('a call that waited maxWaitMs for its turn is refused when a slot is free at last', async (t) => {
  const { budget, admitNow, clock, refusals } = setup({ maxInFlight: 1 });
  const running = admitNow('192.0.2.1');
  const late = budget.admit('192.0.2.2');
  clock.ms += 400;
  const inTime = budget.admit('192.0.2.3');
  clock.ms += 600;
  running?.();
  t.equal(await late, undefined, 'waited 1000 ms: refused');
  t.match(refusals, [{ client: '192.0.2.2', limit: 'all_clients' }]);
  t.type(await inTime, 'function', 'waited 600 ms: its turn');
});

t.test('refusals warn once per client a minute; the next warning says how many were not logged', async (t) => {
  const { admitNow, refusals, clock } = setup({ maxInFlightPerClient: 1 });
  admitNow('198.51.100.7');
  for (let i = 0; i < 3; i++) admitNow('198.51.100.7');
  t.same(
    refusals.map((refusal) => [refusal.warn, refusal.refusedSinceWarn]),
    [
      [true, 0],
      [false, 1],
      [false, 2],
    ],
  );
  admitNow('203.0.113.9');
  admitNow('203.0.113.9');
  t.equal(refusals.at(-1)?.warn, true, 'another client gets its own warning');
  clock.ms += 60_000;
  admitNow('198.51.100.7');
  t.match(refusals.at(-1), { client: '198.51.100.7', warn: true, refusedSinceWarn: 2 });
});

t.test('an IPv6 client counts by its /64 network; an IPv4 client by its address', async (t) => {
  const cases: [string, string][] = [
    ['198.51.100.7', '198.51.100.7'],
    ['2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::198.51.100.7', '64:ff9b:0:0::/64'],
    ['not:an::address::', 'not:an::address::'],
  ];
  for (const [address, key] of cases) t.equal(budgetKey(address), key, address);

  const { admitNow } = setup({ maxInFlightPerClient: 1 });
  t.type(admitNow('2001:db8:1:2::a'), 'function');
  t.equal(admitNow('2001:db8:1:2::b'), undefined, 'another address of the same /64 shares the budget');
  t.type(admitNow('2001:db8:1:3::a'), 'function', 'the next /64 does not');
});

t.test('idle clients are forgotten, so that the clients tracked stay bounded', async (t) => {
  const { admitNow, budget, clock } = setup({ maxInFlight: 100_000 });
  for (let i = 0; i < 10_000; i++) admitNow(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)?.();
  t.equal(budget.trackedClients(), 10_000);
  t.equal(admitNow('192.0.2.1'), undefined, 'no room for a new client while the others still refill');
  clock.ms += 1_000;
  t.type(admitNow('192.0.2.1'), 'function', 'after a second they are idle and forgotten');
  t.equal(budget.trackedClients(), 1);
});
