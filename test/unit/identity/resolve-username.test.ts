import t from 'tap';
import { IdentityNotFoundError } from '../../../src/errors.js';
import { resolveUsername } from '../../../src/identity/resolve-username.js';

const identity = { nameId: ' jdoe ', attributes: { uid: ['jdoe'], mail: ['j@example.com', 'j@example.com'], groups: ['a', 'b'], empty: [''] } };

t.test('username from NameID or a named attribute', async (t) => {
  t.equal(resolveUsername({ from: 'nameId' }, identity), 'jdoe');
  t.equal(resolveUsername({ from: 'attribute', attribute: 'uid' }, identity), 'jdoe');
  t.equal(resolveUsername({ from: 'attribute', attribute: 'mail' }, identity), 'j@example.com', 'repeated equal values are one value');
});

t.test('missing, empty or ambiguous sources are refused, never guessed', async (t) => {
  t.throws(() => resolveUsername({ from: 'nameId' }, { nameId: '  ', attributes: {} }), IdentityNotFoundError);
  t.throws(() => resolveUsername({ from: 'attribute', attribute: 'missing' }, identity), IdentityNotFoundError);
  t.throws(() => resolveUsername({ from: 'attribute', attribute: 'empty' }, identity), IdentityNotFoundError);
  t.throws(() => resolveUsername({ from: 'attribute', attribute: 'groups' }, identity), IdentityNotFoundError);
});
