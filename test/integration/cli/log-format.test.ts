/** `--log-format`: the installed command, run as a child process through bin/ → dist/ (build first: npm run build). */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(REPO_ROOT, 'bin/crowd-sso-proxy.js');
const LISTENING = 'crowd-sso-proxy listening';

/** Crowd and the IdP refuse connections (127.0.0.1:1): the proxy still starts, and logs that it cannot load the IdP. */
const CONFIG = {
  listen: { host: '127.0.0.1', port: 0 },
  stateSecret: 'log-format-test-state-secret-0123456789',
  apps: [{ name: 'jira', hosts: ['jira.test:8080'], upstream: 'http://127.0.0.1:1' }],
  crowd: { baseUrl: 'http://127.0.0.1:1/crowd', applicationName: 'crowd-sso-proxy', applicationPassword: 'app-password-never-logged', timeoutMs: 1000 },
  saml: { spEntityId: 'http://jira.test:8080/_sso/saml/metadata', idp: { metadataUrl: 'http://127.0.0.1:1/metadata' }, metadataTimeoutMs: 1000 },
};

interface Served {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `serve` with `args` until the listening line appears, then stops it with SIGTERM. */
function serveUntilListening(configPath: string, args: readonly string[]): Promise<Served> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'serve', '--config', configPath, ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let stopping = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (!stopping && stdout.includes(LISTENING)) {
        stopping = true;
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

t.before(() => {
  if (!existsSync(join(REPO_ROOT, 'dist/src/cli/main.js'))) throw new Error('dist/ is missing: run "npm run build" before these tests');
});

t.test('--log-format pretty writes one readable line per entry', async (t) => {
  const dir = t.testdir({ 'proxy.config.json': JSON.stringify(CONFIG) });
  const configPath = join(dir, 'proxy.config.json');

  const pretty = await serveUntilListening(configPath, ['--log-format', 'pretty']);
  t.equal(pretty.code, 0, 'stopped cleanly by SIGTERM');
  const lines = pretty.stdout.split('\n').filter((line) => line !== '');
  const listening = lines.find((line) => line.includes(LISTENING));
  t.match(listening, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: crowd-sso-proxy listening \{.*"port":\d+/, 'time, level, message, then the fields on one line');
  for (const line of lines) t.notOk(line.startsWith('{'), `not JSON: ${line.slice(0, 60)}`);
  t.notMatch(pretty.stdout, /app-password-never-logged|log-format-test-state-secret/, 'no secret');
});

t.test('logFormat in the file, and an unknown --log-format is a usage error', async (t) => {
  const dir = t.testdir({ 'proxy.config.json': JSON.stringify({ ...CONFIG, logFormat: 'pretty' }) });
  const configPath = join(dir, 'proxy.config.json');
  const fromFile = await serveUntilListening(configPath, []);
  t.match(fromFile.stdout, /INFO: crowd-sso-proxy listening/, 'logFormat: "pretty" in the file');
  const overridden = await serveUntilListening(configPath, ['--log-format', 'json']);
  const entries = overridden.stdout.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>);
  t.match(entries.find((entry) => entry.msg === LISTENING), { level: 30, name: 'crowd-sso-proxy', port: Number }, 'the flag wins over the file: JSON lines');

  const wrong = await serveUntilListening(configPath, ['--log-format', 'xml']);
  t.equal(wrong.code, 2);
  t.match(wrong.stderr, /log-format/);
});
