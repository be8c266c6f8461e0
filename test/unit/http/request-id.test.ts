import t from 'tap';
import { requestIdFrom } from '../../../src/http/request-id.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

t.test('a trusted proxy may choose the request id when it is one short token of safe characters', async (t) => {
  const kept = [
    'f47ac10b-58cc-4372-a567-0e02b2c3d479',
    '5b1f0e2c9d3a4f6e8b7c0d1e2f3a4b5c',
    'Root=1-67891233-abcdef012345678912345678',
    'req_01HZX.lb-2:443/abc+def=',
    'a'.repeat(128),
  ];
  for (const value of kept) t.equal(requestIdFrom(value, true), value, value.slice(0, 40));
});

t.test('anything else gets a new UUID', async (t) => {
  const replaced: [string, string | string[] | undefined, boolean][] = [
    ['from a peer that is not a trusted proxy', 'f47ac10b-58cc-4372-a567-0e02b2c3d479', false],
    ['absent', undefined, true],
    ['empty', '', true],
    ['too long', 'a'.repeat(129), true],
    ['with a space', 'abc def', true],
    ['two headers joined by Node', 'abc, def', true],
    ['a list', ['abc', 'def'], true],
    ['with a CR LF (log and header injection)', 'abc\r\nX-Evil: 1', true],
    ['with quotes', '"abc"', true],
    ['with non-ASCII', 'abcé', true],
    ['with a brace', '${jndi:ldap://x}', true],
  ];
  for (const [name, value, trusted] of replaced) t.match(requestIdFrom(value, trusted), UUID, name);
  t.not(requestIdFrom(undefined, true), requestIdFrom(undefined, true), 'a new one each time');
});
