import t from 'tap';
import { compileIdentityConfig, type RawUsernameStrategy } from '../../../src/config/identity-config.js';
import type { UsernameStrategy } from '../../../src/config/runtime-config.js';
import { applyUsernameTransforms, usernameCandidates } from '../../../src/identity/username-candidates.js';

function strategy(raw: RawUsernameStrategy): UsernameStrategy {
  return compileIdentityConfig({ username: [raw] }).username[0] as UsernameStrategy;
}

const identity = {
  nameId: ' Alice.Adams@Example.COM ',
  attributes: {
    upn: ['ALICE@corp.example.com'],
    windows: ['CORP\\alice'],
    mail: ['alice@example.com', 'ALICE@example.com', 'a.adams@example.com'],
    blank: ['  ', ''],
    uid: ['alice'],
  },
};

t.test('each transform', async (t) => {
  const cases: [string, RawUsernameStrategy['transforms'], string][] = [
    ['Alice', ['lowercase'], 'alice'],
    ['alice@example.com', ['strip-email-domain'], 'alice'],
    ['"a@b"@example.com', ['strip-email-domain'], '"a@b"', ],
    ['no-domain', ['strip-email-domain'], 'no-domain'],
    ['CORP\\alice', ['strip-windows-domain'], 'alice'],
    ['alice', ['strip-windows-domain'], 'alice'],
    ['adm_alice', [{ replace: { pattern: '^adm_', with: '' } }], 'alice'],
    ['a.b.c', [{ replace: { pattern: '\\.', with: '-' } }], 'a-b-c'],
    ['alice-ext', [{ replace: { pattern: '^(.+)-ext$', with: 'ext.$1' } }], 'ext.alice'],
    ['CORP\\Alice@x', ['strip-windows-domain', 'strip-email-domain', 'lowercase'], 'alice'],
    ['  padded  ', [], 'padded'],
  ];
  for (const [value, transforms, expected] of cases) {
    t.equal(applyUsernameTransforms(value, strategy({ from: 'nameId', transforms }).transforms), expected, `${value} ${JSON.stringify(transforms)}`);
  }
});

t.test('a global replace regular expression is reused safely from one value to the next', async (t) => {
  const transforms = strategy({ from: 'nameId', transforms: [{ replace: { pattern: 'x', with: 'y' } }] }).transforms;
  t.equal(applyUsernameTransforms('axbx', transforms), 'ayby');
  t.equal(applyUsernameTransforms('xx', transforms), 'yy', 'no lastIndex left over');
});

t.test('strategy values: NameID, attribute by name, multi-valued, empty, missing', async (t) => {
  t.same(usernameCandidates(strategy({ from: 'nameId' }), identity), ['Alice.Adams@Example.COM'], 'the NameID, trimmed');
  t.same(usernameCandidates(strategy({ from: 'nameId', transforms: ['strip-email-domain', 'lowercase'] }), identity), ['alice.adams']);
  t.same(usernameCandidates(strategy({ from: 'attribute', attribute: 'upn', transforms: ['strip-email-domain'] }), identity), ['ALICE']);
  t.same(usernameCandidates(strategy({ from: 'attribute', attribute: 'windows', transforms: ['strip-windows-domain'] }), identity), ['alice']);
  t.same(
    usernameCandidates(strategy({ from: 'attribute', attribute: 'mail' }), identity),
    ['alice@example.com', 'a.adams@example.com'],
    'values equal ignoring case count once, in the order sent',
  );
  t.same(usernameCandidates(strategy({ from: 'attribute', attribute: 'blank' }), identity), [], 'blank values are no values');
  t.same(usernameCandidates(strategy({ from: 'attribute', attribute: 'missing' }), identity), [], 'a missing attribute yields nothing');
  t.same(
    usernameCandidates(strategy({ from: 'attribute', attribute: 'mail', transforms: ['strip-email-domain', { replace: { pattern: '^a\\.adams$', with: 'alice' } }] }), identity),
    ['alice'],
    'values that transform to the same name are one candidate',
  );
  t.same(usernameCandidates(strategy({ from: 'attribute', attribute: 'uid', transforms: [{ replace: { pattern: '.*', with: '' } }] }), identity), [], 'a value transformed to nothing is dropped');
});
