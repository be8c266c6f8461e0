import t from 'tap';
import {
  computeValidationFactors,
  normalizeIpAddress,
  validationFactorsCacheKey,
} from '../../../src/crowd/validation-factors.js';

t.test('client IPs are written the way Tomcat reports them', async (t) => {
  const cases: Array<[string, string]> = [
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:10.0.0.1', '10.0.0.1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['::ffff:10.0.0.1%lo', '10.0.0.1'],
    ['2001:db8::5', '2001:db8::5'],
    ['::ffff:abcd', '::ffff:abcd'],
    ['::1', '::1'],
  ];
  for (const [input, expected] of cases) t.equal(normalizeIpAddress(input), expected, input);
});

t.test('client-ip mode sends the client address as remote_address only', async (t) => {
  t.same(computeValidationFactors({ mode: 'client-ip' }, '::ffff:198.51.100.4'), [{ name: 'remote_address', value: '198.51.100.4' }]);
});

t.test('as-upstream mode sends what each app will send behind the proxy', async (t) => {
  const config = { mode: 'as-upstream', proxyAddress: '10.0.0.5' } as const;
  t.same(computeValidationFactors(config, '198.51.100.4'), [
    { name: 'remote_address', value: '10.0.0.5' },
    { name: 'X-Forwarded-For', value: '198.51.100.4' },
  ]);
  t.same(computeValidationFactors(config, '::ffff:10.0.0.5'), [{ name: 'remote_address', value: '10.0.0.5' }], 'no XFF when the client is the proxy');
  t.same(
    computeValidationFactors({ mode: 'as-upstream', proxyAddress: '::ffff:10.0.0.5' }, 'fe80::9%en0'),
    [
      { name: 'remote_address', value: '10.0.0.5' },
      { name: 'X-Forwarded-For', value: 'fe80::9' },
    ],
    'both sides normalised',
  );
});

t.test('the factor name is spelled exactly X-Forwarded-For', async (t) => {
  const factors = computeValidationFactors({ mode: 'as-upstream', proxyAddress: '10.0.0.5' }, '1.2.3.4');
  t.equal(factors[1]?.name, 'X-Forwarded-For');
});

t.test('cache keys separate factor sets and agree for equal ones', async (t) => {
  const a = validationFactorsCacheKey(computeValidationFactors({ mode: 'client-ip' }, '1.2.3.4'));
  const b = validationFactorsCacheKey(computeValidationFactors({ mode: 'client-ip' }, '::ffff:1.2.3.4'));
  const c = validationFactorsCacheKey(computeValidationFactors({ mode: 'client-ip' }, '1.2.3.5'));
  const d = validationFactorsCacheKey(computeValidationFactors({ mode: 'as-upstream', proxyAddress: '10.0.0.5' }, '1.2.3.4'));
  t.equal(a, b);
  t.not(a, c);
  t.not(a, d);
});
