/**
 * CPU time of a native server (nginx, Apache httpd) and every process below it, read from /proc/<pid>/stat: for
 * servers that cannot answer the runner's `cpu-usage` request. Linux only; elsewhere it reads undefined.
 *
 * Each live process counts its own time (utime + stime, all its threads) and the time of its children that have
 * exited and been waited for (cutime + cstime), so a worker that ends between two readings is not lost.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  readonly ticks: number;
}

let ticksPerSecond: number | undefined;

function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    const reported = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim());
    ticksPerSecond = Number.isFinite(reported) && reported > 0 ? reported : 100;
  }
  return ticksPerSecond;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so the fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state) of proc(5): ppid is field 4, utime…cstime are fields 14…17.
  const number = (field: number): number => Number(fields[field - 3]);
  return { pid, ppid: number(4), ticks: number(14) + number(15) + number(16) + number(17) };
}

/** Microseconds of CPU used so far by `rootPid` and its descendants, or undefined when /proc cannot tell. */
export function processTreeCpuUs(rootPid: number): number | undefined {
  const root = readStat(rootPid);
  if (root === undefined) return undefined;
  const byParent = new Map<number, ProcStat[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat === undefined) continue;
    const siblings = byParent.get(stat.ppid);
    if (siblings === undefined) byParent.set(stat.ppid, [stat]);
    else siblings.push(stat);
  }
  let ticks = 0;
  const pending = [root];
  for (let stat = pending.pop(); stat !== undefined; stat = pending.pop()) {
    ticks += stat.ticks;
    pending.push(...(byParent.get(stat.pid) ?? []));
  }
  return (ticks / clockTicksPerSecond()) * 1_000_000;
}
