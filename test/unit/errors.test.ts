import t from 'tap';
import * as errors from '../../src/errors.js';

t.test('every catalog code has one error class with a status, page and reason', async (t) => {
  type ErrorClass = (new (message: string) => errors.SsoProxyError) & { name: string };
  const classes = (Object.values(errors) as unknown[]).filter(
    (value): value is ErrorClass => typeof value === 'function' && (value as { prototype: unknown }).prototype instanceof errors.SsoProxyError,
  );
  const codes = new Set<string>();
  for (const ErrorClass of classes) {
    const error = new ErrorClass('administrator detail');
    t.ok(error.code in errors.ERROR_CATALOG, `${ErrorClass.name} has a catalog entry`);
    t.ok(error.status >= 400 && error.status < 600, `${ErrorClass.name} status`);
    t.match(error.reason, /^[a-z_]+$/, `${ErrorClass.name} reason is snake_case`);
    t.notMatch(error.publicMessage, /administrator detail/, 'the log message never reaches the page');
    t.equal(error.name, ErrorClass.name);
    codes.add(error.code);
  }
  t.same([...codes].sort(), Object.keys(errors.ERROR_CATALOG).sort(), 'one class per catalog code');
});

t.test('ConfigError lists every problem with its key path', async (t) => {
  const error = new errors.ConfigError([
    { path: 'apps[1].upstream', message: 'not a URL' },
    { path: 'crowd.timeoutMs', message: 'must be at least 1' },
  ]);
  t.equal(error.message, 'apps[1].upstream: not a URL\ncrowd.timeoutMs: must be at least 1');
});

t.test('a store that does not answer refuses the login with a try-later page, never a 500', async (t) => {
  const error = new errors.StoreUnavailableError('Redis at redis://redis.internal:6379/0 failed during mark_assertion_used');
  t.match(error, { code: 'ERR_STORE_UNAVAILABLE', status: 503, reason: 'store_unavailable', entry: { page: 'try-later', level: 'error' } });
  t.notMatch(error.publicMessage, /redis/i, 'the page does not name the store');
});
