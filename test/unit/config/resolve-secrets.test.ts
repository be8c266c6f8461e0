import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { resolveSecret, type SecretResult, type SecretSpec } from '../../../src/config/resolve-secrets.js';

const env = { APP_PASSWORD: 's3cret', EMPTY: '', SUFFIX: '-x' };

function shown(result: SecretResult): string {
  return result.kind === 'value' ? `value ${result.value}` : `${result.problem.path}: ${result.problem.message}`;
}

t.test('strings read ${VAR} and ${VAR:-default} from the environment', async (t) => {
  const cases: [SecretSpec, string][] = [
    ['plain-value', 'value plain-value'],
    ['${APP_PASSWORD}', 'value s3cret'],
    ['pre-${APP_PASSWORD}${SUFFIX}', 'value pre-s3cret-x'],
    ['${MISSING:-fallback-value}', 'value fallback-value'],
    ['${APP_PASSWORD:-unused}', 'value s3cret'],
    ['${EMPTY:-used-when-empty}', 'value used-when-empty'],
    ['${MISSING:-with:colon}', 'value with:colon'],
    ['${MISSING}', 'crowd.applicationPassword: environment variable MISSING is not set'],
    ['${EMPTY}', 'crowd.applicationPassword: environment variable EMPTY is empty'],
    ['${MISSING:-}', 'crowd.applicationPassword: is empty after replacing environment variables'],
    ['${APP_PASSWORD', 'crowd.applicationPassword: contains "${" that does not start a ${NAME} or ${NAME:-default} reference; use {"file": "<path>"} for values containing "${"'],
    ['${1BAD}', 'crowd.applicationPassword: contains "${" that does not start a ${NAME} or ${NAME:-default} reference; use {"file": "<path>"} for values containing "${"'],
  ];
  for (const [spec, expected] of cases) {
    t.equal(shown(await resolveSecret(spec, 'crowd.applicationPassword', { env, baseDir: '/' })), expected, String(spec));
  }
});

t.test('a value taken from the environment is not scanned again', async (t) => {
  const result = await resolveSecret('${NESTED}', 'stateSecret', { env: { NESTED: '${APP_PASSWORD}' }, baseDir: '/' });
  t.equal(shown(result), 'value ${APP_PASSWORD}');
});

t.test('{file} reads the file relative to the configuration directory, without the trailing newline', async (t) => {
  const dir = t.testdir({ 'password.txt': 'from-file\n', 'crlf.txt': 'windows\r\n', 'empty.txt': '\n', 'keys': { 'inner.txt': 'a\nb\n\n' } });
  const read = (file: string): Promise<SecretResult> => resolveSecret({ file }, 'saml.spPrivateKey', { env: {}, baseDir: dir });
  t.equal(shown(await read('password.txt')), 'value from-file');
  t.equal(shown(await read('crlf.txt')), 'value windows');
  t.equal(shown(await read('keys/inner.txt')), 'value a\nb');
  t.equal(shown(await read(join(dir, 'password.txt'))), 'value from-file', 'absolute paths stay as they are');
  t.equal(shown(await read('empty.txt')), `saml.spPrivateKey: file "${join(dir, 'empty.txt')}" is empty`);
  t.equal(shown(await read('missing.txt')), `saml.spPrivateKey: cannot read file "${join(dir, 'missing.txt')}": it does not exist`);
  t.equal(shown(await read('keys')), `saml.spPrivateKey: cannot read file "${join(dir, 'keys')}": it is a directory, not a file`);
});

t.test('an unreadable file is named with what to do', { skip: process.getuid?.() === 0 ? 'root reads every file' : false }, async (t) => {
  const dir = t.testdir({ 'locked.txt': 'secret' });
  await chmod(join(dir, 'locked.txt'), 0o000);
  const result = await resolveSecret({ file: 'locked.txt' }, 'stateSecret', { env: {}, baseDir: dir });
  t.equal(shown(result), `stateSecret: cannot read file "${join(dir, 'locked.txt')}": permission denied; let the user running the proxy read it`);
});
