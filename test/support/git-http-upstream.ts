/**
 * A Bitbucket-like git smart-HTTP upstream: `git http-backend` (CGI, from the Debian `git` package) behind a Node
 * HTTP server that checks Basic credentials itself and answers `401` with `WWW-Authenticate: Basic realm="Atlassian
 * Bitbucket"` without them, as Bitbucket's /scm/ does. Serves one bare repository, `/scm/demo/repo.git`, with one
 * commit on `main`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GitUpstream {
  readonly url: string;
  /** The commit `main` points at. */
  readonly head: string;
  /** Authorization headers the upstream received, in order (undefined: none). */
  readonly authorizations: (string | undefined)[];
  /** Cookie headers the upstream received. */
  readonly cookies: (string | undefined)[];
  close(): Promise<void>;
}

const GIT_HTTP_BACKEND = '/usr/lib/git-core/git-http-backend';

export function hasGit(): boolean {
  try {
    execFileSync('git', ['--version'], { stdio: 'ignore' });
    execFileSync(GIT_HTTP_BACKEND, [], { stdio: 'ignore', env: { GATEWAY_INTERFACE: '' } });
  } catch (error) {
    // http-backend without CGI variables exits non-zero after printing a status: it exists.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
  }
  return true;
}

const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'A', GIT_AUTHOR_EMAIL: 'a@example.com', GIT_COMMITTER_NAME: 'A', GIT_COMMITTER_EMAIL: 'a@example.com' } }).trim();

export async function startGitUpstream(credentials: { readonly username: string; readonly password: string }): Promise<GitUpstream> {
  const root = mkdtempSync(join(tmpdir(), 'crowd-sso-proxy-git-'));
  const work = join(root, 'work');
  execFileSync('git', ['init', '-q', '-b', 'main', work]);
  writeFileSync(join(work, 'README'), 'hello\n');
  git(work, 'add', 'README');
  git(work, 'commit', '-q', '-m', 'first');
  const head = git(work, 'rev-parse', 'HEAD');
  execFileSync('git', ['clone', '-q', '--bare', work, join(root, 'scm', 'demo', 'repo.git')]);

  const expected = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  const authorizations: (string | undefined)[] = [];
  const cookies: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    authorizations.push(req.headers.authorization);
    cookies.push(req.headers.cookie);
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="Atlassian Bitbucket"', 'content-length': 0 });
      res.end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://upstream');
    const cgi = spawn(GIT_HTTP_BACKEND, [], { env: cgiEnv(root, req.method ?? 'GET', url, req.headers, credentials.username) });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      headDone = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else res.setHeader(name, value);
      }
      res.writeHead(status);
      res.write(head.subarray(end + 4));
    });
    cgi.on('close', () => res.end());
    cgi.on('error', () => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    head,
    authorizations,
    cookies,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          rmSync(root, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}

function cgiEnv(root: string, method: string, url: URL, headers: IncomingHttpHeaders, user: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    REMOTE_USER: user,
    REQUEST_METHOD: method,
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: headers['content-type'] ?? '',
    ...(headers['content-length'] === undefined ? {} : { CONTENT_LENGTH: headers['content-length'] }),
    ...(headers['content-encoding'] === undefined ? {} : { HTTP_CONTENT_ENCODING: headers['content-encoding'] }),
    ...(headers['git-protocol'] === undefined ? {} : { GIT_PROTOCOL: String(headers['git-protocol']) }),
  };
}
