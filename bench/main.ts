/**
 * `npm run bench`: runs every benchmark row and prints the report; a full run also writes bench/results/latest.md.
 *
 * Environment: BENCH_DURATION_SECONDS (measured seconds per row, default 8), BENCH_ROUNDS (slices per row, taking
 * turns with the other rows of the group, default 8), BENCH_WARMUP_SECONDS (default 1),
 * BENCH_ROWS (comma-separated row ids, e.g. `small/http-proxy,small/sso-hit`; default all), BENCH_MEMORY_TOKENS
 * (default 1000000; 0 skips), BENCH_LOGINS (default 200; 0 skips), BENCH_CROWD_LATENCY_MS (default 5), BENCH_PIN (default
 * 1: the proxy under test on a CPU of its own, see cpu-plan.ts; 0: unpinned), BENCH_PROXY_CPU_PROF (a directory: the
 * single-process crowd-sso-proxy writes a V8 CPU profile there when the run ends, for reading where its CPU goes).
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { packageFilePath } from '../src/config/package-file.js';
import { cpuPlan } from './cpu-plan.js';
import { renderReport } from './render-report.js';
import { runBench } from './run-bench.js';

function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number ≥ 0, not "${raw}"`);
  return value;
}

const rows = process.env['BENCH_ROWS'] ? process.env['BENCH_ROWS'].split(',').map((row) => row.trim()) : undefined;
const report = await runBench({
  durationSeconds: numberFromEnv('BENCH_DURATION_SECONDS', 8),
  rounds: Math.max(1, Math.round(numberFromEnv('BENCH_ROUNDS', 8))),
  warmupSeconds: numberFromEnv('BENCH_WARMUP_SECONDS', 1),
  ...(rows === undefined ? {} : { rows }),
  memoryTokens: numberFromEnv('BENCH_MEMORY_TOKENS', 1_000_000),
  logins: numberFromEnv('BENCH_LOGINS', 200),
  crowdLatencyMs: numberFromEnv('BENCH_CROWD_LATENCY_MS', 5),
  cpus: cpuPlan(process.env['BENCH_PIN'] !== '0'),
  proxyCpuProfileDir: process.env['BENCH_PROXY_CPU_PROF'] || undefined,
  progress: (line) => process.stderr.write(`bench: ${line}\n`),
});
const markdown = renderReport(report);
process.stdout.write(markdown);
if (rows === undefined) {
  const file = join(dirname(packageFilePath('package.json')), 'bench', 'results', 'latest.md');
  writeFileSync(file, `# Benchmark results\n\nWritten by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}.\n\n${markdown}`);
  process.stderr.write(`bench: written to bench/results/latest.md\n`);
}
