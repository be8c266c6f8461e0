import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { startStack } from '../../support/stack.js';

const bin = fileURLToPath(new URL('../../../bin/crowd-sso-proxy.js', import.meta.url));

/** Runs the CLI without blocking this process (the fake Crowd, IdP and upstreams answer from here). */
function check(configPath: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, 'check', '--config', configPath], { encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ status: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

t.test('check: a working setup reports every item and exits 0; a broken one names what is wrong and exits 1', async (t) => {
  const stack = await startStack(t);
  const good = await check(stack.configPath);
  t.equal(good.status, 0, good.stdout + good.stderr);
  for (const item of ['config', 'crowd', 'crowd cookie', 'idp', 'idp certificates', 'upstream jira', 'upstream confluence', 'upstream echo']) {
    t.match(good.stdout, new RegExp(`✔ ${item}\\b`), item);
  }
  t.match(good.stdout, /domain sso\.test/, 'shows the cookie domain Crowd uses');

  await stack.echo.close();
  stack.crowd.applications.get('crowd-sso-proxy')!.password = 'rotated-elsewhere';
  const bad = await check(stack.configPath);
  t.equal(bad.status, 1);
  t.match(bad.stdout, /✖ crowd\b.*applicationPassword/, 'a wrong application password is named by its key');
  t.match(bad.stdout, /✖ upstream echo\b/, 'the dead upstream is named');
  t.match(bad.stdout, /✔ upstream jira\b/, 'the others still pass');
});
