/**
 * Which CPUs each benchmark process runs on. With two or more CPUs and `taskset` (util-linux), the proxy under test
 * (bare http-proxy, nginx, crowd-sso-proxy) gets the last CPU to itself, and the load generator, the upstream and the
 * fake Crowd share the others: each proxy is then held to one core, so what it costs per request shows in its
 * throughput instead of being absorbed by an idle core, and its rows disturb each other less. The `workers: 2` row
 * gets every CPU. BENCH_PIN=0 runs everything unpinned.
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';

export interface CpuPlan {
  /** The load generator, the upstream, the fake Crowd, the memory probe (taskset list syntax, e.g. `0`). */
  readonly load: string;
  /** The single-process proxy under test. */
  readonly proxy: string;
  /** Every CPU (the `workers` row). */
  readonly all: string;
}

const TASKSET = 'taskset';

/** The plan, or undefined when pinning is off or impossible (one CPU, no taskset). */
export function cpuPlan(wanted: boolean): CpuPlan | undefined {
  const count = cpus().length;
  if (!wanted || count < 2 || spawnSync(TASKSET, ['-V'], { stdio: 'ignore' }).status !== 0) return undefined;
  const last = count - 1;
  return { load: last === 1 ? '0' : `0-${last - 1}`, proxy: String(last), all: `0-${last}` };
}

/** `command args…`, run on `cpuList` when given (every thread the program starts inherits it). */
export function onCpus(cpuList: string | undefined, command: string, args: readonly string[]): { command: string; args: string[] } {
  return cpuList === undefined ? { command, args: [...args] } : { command: TASKSET, args: ['--cpu-list', cpuList, command, ...args] };
}

/** Moves this process (all its threads) to `cpuList`; the processes it starts afterwards inherit it. */
export function pinThisProcess(cpuList: string): void {
  const result = spawnSync(TASKSET, ['--all-tasks', '--cpu-list', '--pid', cpuList, String(process.pid)], { stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`taskset could not pin the benchmark runner to CPUs ${cpuList}`);
}
