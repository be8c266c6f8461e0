/**
 * Runs one benchmark server in its own Node.js process (so the load generator, the proxy under test, the upstream
 * and the fake Crowd do not share an event loop) and talks to it over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchReplies, BenchRequest, BenchServerMessage, BenchServerSpec } from './bench-protocol.js';
import { onCpus } from './cpu-plan.js';

export interface BenchProcess {
  readonly port: number;
  readonly pid: number;
  ask<K extends BenchRequest['kind']>(request: Extract<BenchRequest, { kind: K }>): Promise<BenchReplies[K]>;
  close(): Promise<void>;
}

const CLOSE_TIMEOUT_MS = 15_000;

/** The server entry next to this module, in the same form (.ts under the test runner's loader, .js from dist/). */
const SERVER_ENTRY = fileURLToPath(new URL(`./bench-server${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));

/** `cpuList`: the CPUs the process runs on (taskset list syntax); undefined = wherever the system puts it. */
export function startBenchProcess(spec: BenchServerSpec, options: { readonly execArgv?: readonly string[]; readonly cpuList?: string | undefined } = {}): Promise<BenchProcess> {
  // The child inherits the execArgv of this process (the test runner's TypeScript loader, when there is one).
  const node = onCpus(options.cpuList, process.execPath, [...process.execArgv, ...(options.execArgv ?? [])]);
  const child: ChildProcess = fork(SERVER_ENTRY, [JSON.stringify(spec)], {
    execPath: node.command,
    execArgv: node.args,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;

  return new Promise((resolveStart, rejectStart) => {
    child.once('exit', (code, signal) => {
      const error = new Error(`benchmark ${spec.role} process exited (${signal ?? `status ${code}`})`);
      rejectStart(error);
      for (const call of pending.values()) call.reject(error);
      pending.clear();
    });
    child.on('message', (message: BenchServerMessage) => {
      if (message.kind === 'ready') {
        resolveStart(handle(message.port));
        return;
      }
      const call = message.id === undefined ? undefined : pending.get(message.id);
      if (message.kind === 'failed' && call === undefined) {
        rejectStart(new Error(`benchmark ${spec.role} process failed: ${message.message}`));
        return;
      }
      if (call === undefined || message.id === undefined) return;
      pending.delete(message.id);
      if (message.kind === 'reply') call.resolve(message.value);
      else call.reject(new Error(`benchmark ${spec.role} process: ${message.message}`));
    });
  });

  function handle(port: number): BenchProcess {
    const ask = <K extends BenchRequest['kind']>(request: Extract<BenchRequest, { kind: K }>): Promise<BenchReplies[K]> =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ id, request });
      });
    return {
      port,
      pid: child.pid as number,
      ask,
      async close() {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const timer = setTimeout(() => child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
        await ask({ kind: 'close' }).catch(() => undefined);
        await exited;
        clearTimeout(timer);
      },
    };
  }
}
