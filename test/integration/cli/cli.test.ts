/**
 * The installed command, run as a child process through bin/ → dist/ (build first: npm run build).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(REPO_ROOT, 'bin/crowd-sso-proxy.js');
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

// Each test starts the command as a new Node.js process (about a second each, several when the machine is busy).
t.setTimeout(180_000);

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Running {
  readonly exited: Promise<Run>;
  /** Resolves with the first stdout line that satisfies `predicate`; rejects when the process exits first. */
  waitForLine(predicate: (line: string) => boolean): Promise<string>;
  kill(signal: NodeJS.Signals): void;
}

function start(args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): Running {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: { predicate: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    for (const line of stdout.split('\n')) {
      for (const waiter of waiters.filter((w) => w.predicate(line))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return {
    exited,
    waitForLine: (predicate) =>
      Promise.race([
        new Promise<string>((resolve) => waiters.push({ predicate, resolve })),
        exited.then((result) => Promise.reject(new Error(`exited with ${String(result.code)} first; stderr: ${result.stderr}`))),
      ]),
    kill: (signal) => child.kill(signal),
  };
}

const run = (args: readonly string[], options?: { cwd?: string; env?: Record<string, string> }): Promise<Run> => start(args, options).exited;

/** A valid configuration whose Crowd, IdP and upstream all refuse connections (127.0.0.1:1). */
function unreachableConfig(): Record<string, unknown> {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    stateSecret: '${STATE_SECRET:-cli-test-state-secret-0123456789abcdef}',
    apps: [{ name: 'jira', hosts: ['jira.test:8080'], upstream: 'http://127.0.0.1:1' }],
    crowd: { baseUrl: 'http://127.0.0.1:1/crowd', applicationName: 'crowd-sso-proxy', applicationPassword: 'pw', timeoutMs: 1000 },
    saml: { spEntityId: 'http://jira.test:8080/_sso/saml/metadata', idp: { metadataUrl: 'http://127.0.0.1:1/metadata' }, metadataTimeoutMs: 1000 },
  };
}

async function writeConfig(dir: string, config: Record<string, unknown>, name = 'proxy.config.json'): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, JSON.stringify(config, null, 2));
  return file;
}

t.before(() => {
  if (!existsSync(join(REPO_ROOT, 'dist/src/cli/main.js'))) throw new Error('dist/ is missing: run "npm run build" before these tests');
});

t.test('--help lists the commands and options', async (t) => {
  const { code, stdout, stderr } = await run(['--help']);
  t.equal(code, 0);
  t.equal(stderr, '');
  for (const word of ['crowd-sso-proxy serve', 'crowd-sso-proxy check', 'crowd-sso-proxy metadata', 'crowd-sso-proxy nginx-config', 'crowd-sso-proxy traefik-config', 'crowd-sso-proxy caddy-config', '--config', '--log-level', 'CROWD_SSO_PROXY_CONFIG', '--version']) {
    t.match(stdout, word);
  }
});

t.test('--version prints the package version', async (t) => {
  t.same(await run(['--version']), { code: 0, stdout: `${VERSION}\n`, stderr: '' });
});

t.test('an unknown option or command is a usage error', async (t) => {
  for (const args of [['--frobnicate'], ['frobnicate'], ['serve', '--log-level', 'loud']]) {
    const { code, stdout, stderr } = await run(args);
    t.equal(code, 2, args.join(' '));
    t.equal(stdout, '');
    t.match(stderr, 'Run "crowd-sso-proxy --help" for the commands and options.');
  }
});

t.test('an invalid configuration prints every problem and exits 2', async (t) => {
  const dir = t.testdir();
  const config = unreachableConfig();
  const file = await writeConfig(dir, {
    ...config,
    apps: [{ name: 'jira', hosts: ['jira.test'], upstreamm: 'http://127.0.0.1:8080' }],
    crowd: { ...(config.crowd as object), timeoutMs: 0 },
    stateSecret: '${MISSING_SECRET}',
  });
  for (const command of ['check', 'metadata', 'serve']) {
    t.same(
      await run([command, '--config', file]),
      {
        code: 2,
        stdout: '',
        stderr: [
          `crowd-sso-proxy: invalid configuration in ${file}:`,
          '  - apps[0]: missing required key "upstream"',
          '  - apps[0]: unknown key "upstreamm" (did you mean "upstream"?)',
          '  - crowd.timeoutMs: must be at least 100',
          '  - stateSecret: environment variable MISSING_SECRET is not set',
          '',
        ].join('\n'),
      },
      command,
    );
  }
});

t.test('the configuration file comes from -c, then CROWD_SSO_PROXY_CONFIG, then ./proxy.config.json', async (t) => {
  const dir = t.testdir({ 'proxy.config.json': '{ "oops": ' });
  const fromEnv = join(dir, 'from-env.json');
  const missing = (file: string): string => `crowd-sso-proxy: invalid configuration in ${file}:\n  - cannot read "${file}": it does not exist\n`;
  t.equal((await run(['check'], { env: { CROWD_SSO_PROXY_CONFIG: fromEnv } })).stderr, missing(fromEnv));
  t.equal((await run(['check', '-c', 'other.json'], { cwd: dir, env: { CROWD_SSO_PROXY_CONFIG: fromEnv } })).stderr, missing(join(dir, 'other.json')));
  t.equal(
    (await run(['check'], { cwd: dir })).stderr,
    `crowd-sso-proxy: invalid configuration in ${join(dir, 'proxy.config.json')}:\n  - syntax error at line 1, column 11: expected a value\n`,
  );
});

t.test('metadata prints the SP metadata XML', async (t) => {
  const file = await writeConfig(t.testdir(), unreachableConfig());
  const { code, stdout, stderr } = await run(['metadata', '-c', file]);
  t.equal(code, 0, stderr);
  t.match(stdout, /^<\?xml /);
  t.match(stdout, 'entityID="http://jira.test:8080/_sso/saml/metadata"');
  t.match(stdout, 'Location="http://jira.test:8080/_sso/saml/acs"');
  t.ok(stdout.endsWith('\n'));
});

t.test('nginx-config prints the nginx include for the apps; --sso-upstream is required', async (t) => {
  const file = await writeConfig(t.testdir(), unreachableConfig());
  const { code, stdout, stderr } = await run(['nginx-config', '-c', file, '--sso-upstream', 'http://127.0.0.1:9000', '--listen', '8080', '--auth-cache-seconds', '10']);
  t.equal(code, 0, stderr);
  t.match(stdout, /\n\s+server_name jira\.test;\n/);
  t.match(stdout, /\n\s+listen 8080;\n/);
  t.match(stdout, /\n\s+server 127\.0\.0\.1:9000;\n/);
  t.match(stdout, /\n\s+auth_request \/_sso\/auth;\n/);
  t.match(stdout, /\n\s+proxy_cache_valid 200 10s;\n/);
  t.match(stdout, /proxy_cache_path \/run\/crowd-sso-proxy-auth /, 'the cache on /run by default');
  const elsewhere = await run(['nginx-config', '-c', file, '--sso-upstream', 'http://127.0.0.1:9000', '--auth-cache-path', '/dev/shm/sso-auth']);
  t.equal(elsewhere.code, 0, elsewhere.stderr);
  t.match(elsewhere.stdout, /proxy_cache_path \/dev\/shm\/sso-auth /, '--auth-cache-path');

  const missing = await run(['nginx-config', '-c', file]);
  t.equal(missing.code, 2);
  t.equal(missing.stdout, '');
  t.match(missing.stderr, 'sso-upstream');

  const bad = await run(['nginx-config', '-c', file, '--sso-upstream', 'http://127.0.0.1:9000', '--listen', '80;']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, '--listen: "80;" cannot be written into an nginx configuration');
});

t.test('traefik-config and caddy-config print their configurations for the apps; --sso-upstream is required', async (t) => {
  const file = await writeConfig(t.testdir(), unreachableConfig());
  const traefik = await run(['traefik-config', '-c', file, '--sso-upstream', 'http://127.0.0.1:9000']);
  t.equal(traefik.code, 0, traefik.stderr);
  t.match(traefik.stdout, 'address: "http://127.0.0.1:9000/_sso/auth?redirect=1"');
  t.match(traefik.stdout, 'Host(`jira.test`)');
  const caddy = await run(['caddy-config', '-c', file, '--sso-upstream', 'http://127.0.0.1:9000']);
  t.equal(caddy.code, 0, caddy.stderr);
  t.match(caddy.stdout, /forward_auth 127\.0\.0\.1:9000|forward_auth http:\/\/127\.0\.0\.1:9000/);
  for (const command of ['traefik-config', 'caddy-config']) {
    const missing = await run([command, '-c', file]);
    t.equal(missing.code, 2, command);
    t.match(missing.stderr, 'sso-upstream');
  }
});

t.test('check prints one line per item and exits 1 when something is unreachable', async (t) => {
  const file = await writeConfig(t.testdir(), unreachableConfig());
  const { code, stdout } = await run(['check', '-c', file]);
  t.equal(code, 1);
  const lines = stdout.trimEnd().split('\n');
  t.ok(lines.length > 0);
  for (const line of lines) t.match(line, /^[✔✖] \S/);
  t.ok(lines.some((line) => line.startsWith('✖ ')));
});

t.test('serve runs until SIGTERM, then closes and exits 0', async (t) => {
  const file = await writeConfig(t.testdir(), unreachableConfig());
  const proxy = start(['-c', file, '--log-level', 'info']);
  t.teardown(() => proxy.kill('SIGKILL'));
  const listening = JSON.parse(await proxy.waitForLine((line) => line.includes('listening'))) as { port?: unknown };
  t.type(listening.port, 'number');
  proxy.kill('SIGTERM');
  const { code, stderr } = await proxy.exited;
  t.equal(code, 0);
  t.equal(stderr, '');
});

t.test('serve names the listen keys when the port is taken, and exits 1', async (t) => {
  const blocker = createServer();
  await new Promise<void>((listening) => blocker.listen(0, '127.0.0.1', listening));
  t.teardown(() => new Promise<void>((closed) => blocker.close(() => closed())));
  const { port } = blocker.address() as AddressInfo;
  const file = await writeConfig(t.testdir(), { ...unreachableConfig(), listen: { host: '127.0.0.1', port } });
  const { code, stderr } = await run(['serve', '-c', file, '--log-level', 'silent']);
  t.equal(code, 1);
  t.equal(stderr, `crowd-sso-proxy: cannot listen on 127.0.0.1:${port}; check listen.host and listen.port\n  caused by: listen EADDRINUSE: address already in use 127.0.0.1:${port}\n`);
});
