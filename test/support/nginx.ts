/**
 * A real, throw-away nginx (Debian package `nginx-light` or `nginx`, /usr/sbin/nginx) for the forward-auth tests: in
 * its own temporary prefix directory (temp paths, auth cache, pid file and error log inside it), in the foreground,
 * on a free 127.0.0.1 port, with one generated include (`crowd-sso-proxy nginx-config`) and nothing else.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NGINX_BINARY = '/usr/sbin/nginx';
const STARTUP_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

/** Why the nginx tests cannot run here (no binary, or no auth_request module), or undefined when they can. */
export function nginxAvailable(): string | undefined {
  const probe = spawnSync(NGINX_BINARY, ['-V'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    return `${NGINX_BINARY} is not installed (Debian: apt-get install nginx-light); the tests through a real nginx are skipped`;
  }
  // nginx -V prints its configure arguments to stderr.
  if (!`${probe.stdout}${probe.stderr}`.includes('--with-http_auth_request_module')) {
    return `${NGINX_BINARY} is built without the auth_request module (nginx -V lacks --with-http_auth_request_module); the tests through a real nginx are skipped`;
  }
  return undefined;
}

export interface NginxEnvironment {
  /** The port nginx will listen on (127.0.0.1). */
  readonly port: number;
  /** nginx's prefix directory (temporary): a place for the auth cache. */
  readonly dir: string;
}

export interface Nginx {
  readonly port: number;
  readonly dir: string;
  /** The generated include, as nginx read it. */
  readonly include: string;
  /** nginx's error log so far (for failure messages). */
  errorLog(): string;
  /** SIGQUIT (graceful), then SIGTERM and SIGKILL if it does not end; resolves once the process has exited. */
  close(): Promise<void>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves once nginx accepts a connection and answers an HTTP request (any status). */
async function waitUntilAnswering(port: number, proc: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`nginx exited with status ${proc.exitCode}:\n${output()}`);
    const answered = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write('GET / HTTP/1.1\r\nHost: nginx-probe.invalid\r\nConnection: close\r\n\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString('latin1').startsWith('HTTP/1.1 '));
      });
      socket.once('error', () => resolve(false));
    });
    if (answered) return;
    if (Date.now() > deadline) throw new Error(`nginx did not answer on port ${port} within ${STARTUP_TIMEOUT_MS} ms:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Starts nginx with the include `render` returns for the port and directory it will use (render the nginx-config
 * with `listen: 127.0.0.1:<port>` and an auth cache path inside `dir`). Stopped in teardown.
 */
export async function startNginx(t: Teardown, render: (env: NginxEnvironment) => string): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'crowd-sso-proxy-nginx-'));
  const port = await freePort();
  const include = render({ port, dir });
  writeFileSync(join(dir, 'generated.conf'), include);
  const errorLogPath = join(dir, 'error.log');
  const conf = [
    // Started as root, nginx would switch its workers to the default user (nobody), which cannot use this directory.
    ...(process.getuid?.() === 0 ? ['user root;'] : []),
    'worker_processes 1;',
    `error_log ${errorLogPath} info;`,
    'events { worker_connections 256; }',
    'http {',
    '    access_log off;',
    `    client_body_temp_path ${join(dir, 'body')};`,
    `    proxy_temp_path ${join(dir, 'proxy')};`,
    `    fastcgi_temp_path ${join(dir, 'fastcgi')};`,
    `    uwsgi_temp_path ${join(dir, 'uwsgi')};`,
    `    scgi_temp_path ${join(dir, 'scgi')};`,
    `    include ${join(dir, 'generated.conf')};`,
    '}',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'nginx.conf'), conf);

  let output = '';
  const errorLog = (): string => {
    try {
      return readFileSync(errorLogPath, 'utf8');
    } catch {
      return '';
    }
  };
  const proc = spawn(NGINX_BINARY, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', errorLogPath, '-g', `daemon off; pid ${join(dir, 'nginx.pid')};`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  proc.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));

  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGQUIT');
      const stopped = await Promise.race([exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), STOP_TIMEOUT_MS))]);
      if (!stopped) {
        proc.kill('SIGTERM');
        const terminated = await Promise.race([exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), STOP_TIMEOUT_MS))]);
        if (!terminated) proc.kill('SIGKILL');
        await exited;
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  t.teardown(close);

  try {
    await waitUntilAnswering(port, proc, () => `${output}${errorLog()}`);
  } catch (error) {
    await close();
    throw error;
  }
  return { port, dir, include, errorLog, close };
}
