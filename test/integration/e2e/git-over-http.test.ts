/**
 * The real `git` client through the proxy to a Bitbucket-like smart-HTTP upstream (`git http-backend`): without
 * credentials the proxy's own 401 challenges as Bitbucket does, so git asks its credential helper; with the helper's
 * credentials `ls-remote` and `clone` work. Anonymous requests never reach the upstream.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { hasGit, startGitUpstream } from '../../support/git-http-upstream.js';
import { HOSTS, startStack } from '../../support/stack.js';

const CREDENTIALS = { username: 'alice', password: 'app-password-1' } as const;

interface GitRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function runGit(args: readonly string[], cwd: string): Promise<GitRun> {
  return new Promise((resolve) => {
    execFile(
      'git',
      ['-c', `http.extraHeader=Host: ${HOSTS.echo}`, '-c', 'credential.helper=', ...args],
      { cwd, timeout: 30_000, env: { PATH: process.env.PATH, HOME: cwd, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1' } },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr }),
    );
  });
}

const HELPER = `credential.helper=!f() { echo username=${CREDENTIALS.username}; echo password=${CREDENTIALS.password}; }; f`;

t.test('git over HTTP through the proxy: challenged like Bitbucket, then served with the credential helper', { skip: hasGit() ? false : 'git and git-http-backend (Debian package git) are not installed' }, async (t) => {
  const upstream = await startGitUpstream(CREDENTIALS);
  t.teardown(() => upstream.close());
  const stack = await startStack(t, { apps: { echo: { preset: 'bitbucket', upstream: upstream.url } } });
  const dir = mkdtempSync(join(tmpdir(), 'crowd-sso-proxy-git-client-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const remote = `http://127.0.0.1:${stack.proxyPort}/scm/demo/repo.git`;

  const challenge = await stack.browser().request(`http://${HOSTS.echo}/scm/demo/repo.git/info/refs?service=git-upload-pack`, { headers: { 'user-agent': 'git/2.39.5' } });
  t.equal(challenge.status, 401);
  t.equal(challenge.headers['www-authenticate'], 'Basic realm="Atlassian Bitbucket"', "the proxy's 401 carries Bitbucket's challenge");
  const fromBrowser = await stack.browser().request(`http://${HOSTS.echo}/rest/api/latest/projects`, { headers: { accept: 'application/json', 'sec-fetch-mode': 'cors' } });
  t.equal(fromBrowser.status, 401);
  t.equal(fromBrowser.headers['www-authenticate'], undefined, 'a browser script gets no challenge (it would open a password dialog)');

  const anonymous = await runGit(['ls-remote', remote], dir);
  t.not(anonymous.code, 0, 'without credentials git fails');
  t.match(anonymous.stderr, /could not read Username|terminal prompts disabled/, 'because it asked for credentials (the challenge worked)');
  t.same(upstream.authorizations, [], 'no anonymous request reached the upstream');

  const listed = await runGit(['-c', HELPER, 'ls-remote', remote], dir);
  t.equal(listed.code, 0, listed.stderr);
  t.match(listed.stdout, new RegExp(`^${upstream.head}\\trefs/heads/main$`, 'm'), 'with the credential helper git lists the refs');

  const cloned = await runGit(['-c', HELPER, 'clone', '-q', remote, 'copy'], dir);
  t.equal(cloned.code, 0, cloned.stderr);
  t.equal(readFileSync(join(dir, 'copy', 'README'), 'utf8'), 'hello\n', 'git clone fetched the repository');
  t.ok(upstream.authorizations.length > 0 && upstream.authorizations.every((value) => value?.startsWith('Basic ')), 'every request the upstream got carried the credentials');
  t.ok(upstream.cookies.every((value) => !/crowd\.token_key/i.test(value ?? '')), 'and no Crowd cookie');
});
