/**
 * crowd-sso-proxy as a real child process, through bin/ → dist/ (build first: npm run build), with its JSON log
 * lines parsed as they come. For the signal, reload and worker tests.
 */
import { spawn } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type LogLine = Record<string, unknown>;

export interface ProxyProcess {
  readonly pid: number;
  /** Every JSON line written to stdout so far. */
  readonly logs: readonly LogLine[];
  /** Resolves with exit code (or null) and stderr when the process has ended. */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly stderr: string }>;
  /**
   * The next line matching `predicate` from index `from` on (default: any line so far); rejects when the process
   * ends first.
   */
  waitForLog(predicate: (line: LogLine) => boolean, from?: number): Promise<LogLine>;
  kill(signal: NodeJS.Signals): void;
}

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO_ROOT, 'bin/crowd-sso-proxy.js');

export function startProxyProcess(args: readonly string[], t: { teardown(fn: () => unknown): void }): ProxyProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  const waiters: { predicate: (line: LogLine) => boolean; from: number; resolve: (line: LogLine) => void }[] = [];
  let pending = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const text = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (text.trim() === '') continue;
      logs.push(JSON.parse(text) as LogLine);
      const index = logs.length - 1;
      for (const waiter of [...waiters]) {
        if (index >= waiter.from && waiter.predicate(logs[index] as LogLine)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(logs[index] as LogLine);
        }
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return {
    pid: child.pid ?? 0,
    logs,
    exited,
    waitForLog(predicate, from = 0) {
      const found = logs.slice(from).find(predicate);
      if (found !== undefined) return Promise.resolve(found);
      return Promise.race([
        new Promise<LogLine>((resolve) => waiters.push({ predicate, from, resolve })),
        exited.then((result) => Promise.reject(new Error(`the proxy exited (${String(result.code ?? result.signal)}) first; stderr: ${result.stderr}`))),
      ]);
    },
    kill: (signal) => child.kill(signal),
  };
}

/** The stack's configuration with `change` applied, written (atomically: temp file + rename) to `file`. */
export function writeConfigFrom(stackConfigPath: string, file: string, change: (raw: Record<string, unknown>) => void = () => undefined): string {
  const raw = JSON.parse(readFileSync(stackConfigPath, 'utf8')) as Record<string, unknown>;
  change(raw);
  writeFileSync(`${file}.tmp`, JSON.stringify(raw, null, 2));
  renameSync(`${file}.tmp`, file);
  return file;
}

/**
 * Starts the proxy and resolves once it listens, with the port it listens on. With `workers` above 1, pass
 * `'all workers listening'` as `readyMessage`.
 */
export async function startListeningProxy(
  args: readonly string[],
  t: { teardown(fn: () => unknown): void },
  readyMessage = 'crowd-sso-proxy listening',
): Promise<{ proxy: ProxyProcess; port: number }> {
  const proxy = startProxyProcess(args, t);
  const line = await proxy.waitForLog((entry) => entry.msg === readyMessage);
  return { proxy, port: line.port as number };
}
