import t from 'tap';
import { defaultMaxConnections, readOpenFileLimit } from '../../../src/http/connection-cap.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max processes             127431               127431               processes
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

t.test('the soft open-file limit is read from the process limits', async (t) => {
  t.equal(readOpenFileLimit(LIMITS), 1024);
  t.equal(readOpenFileLimit('no such line'), undefined);
});

t.test('the default cap leaves most descriptors for the connections to apps, Crowd and the IdP', async (t) => {
  t.equal(defaultMaxConnections(1024), 409, 'a 1024 limit: 409 client connections (each may also hold one to an app)');
  t.equal(defaultMaxConnections(20), 16, 'never below 16');
  t.equal(defaultMaxConnections(undefined), 4096, 'where the limit cannot be read');
});
