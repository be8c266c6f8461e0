/**
 * A real, throw-away `redis-server` (Debian package `redis-server`) for the tests: on a free loopback port, without
 * persistence, in its own temporary directory, stopped in teardown. `stop()` and `start()` simulate an outage.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why the Redis tests cannot run here, or undefined when `redis-server` is installed. */
export const redisServerMissing: string | undefined = (() => {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return probe.error === undefined && probe.status === 0
    ? undefined
    : 'redis-server is not installed (Debian: apt-get install redis-server); the tests against a real Redis are skipped';
})();

export interface RedisServerOptions {
  /** `requirepass` of the default user. */
  readonly password?: string;
  /** Extra `ACL SETUSER` rules, e.g. `['proxy', 'on', '>pw', '~*', '+@all', '-eval']`. */
  readonly aclUser?: readonly string[];
}

export interface RedisServer {
  readonly port: number;
  /** redis://127.0.0.1:<port>/0 */
  readonly url: string;
  /** Starts it again on the same port (after `stop`). */
  start(): Promise<void>;
  /** Stops it (SIGTERM) and waits for the process to end. */
  stop(): Promise<void>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

const STARTUP_TIMEOUT_MS = 10_000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves once the server answers PING (a NOAUTH error counts: it answers). */
async function waitUntilAnswering(port: number, proc: ChildProcess): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited with status ${proc.exitCode} on port ${port}`);
    const answered = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(/^(\+PONG|-NOAUTH)/.test(data.toString('latin1')));
      });
      socket.once('error', () => resolve(false));
    });
    if (answered) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port} within ${STARTUP_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export async function startRedisServer(t: Teardown, options: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'crowd-sso-proxy-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'];
  if (options.password !== undefined) args.push('--requirepass', options.password);
  if (options.aclUser !== undefined) args.push('--user', ...options.aclUser);
  let child: ChildProcess | undefined;
  let output = '';

  const start = async (): Promise<void> => {
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    proc.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    try {
      await waitUntilAnswering(port, proc);
    } catch (error) {
      proc.kill('SIGKILL');
      throw new Error(`${(error as Error).message}\n${output}`);
    }
  };
  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    await exited;
  };

  await start();
  t.teardown(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { port, url: `redis://127.0.0.1:${port}/0`, start, stop };
}
