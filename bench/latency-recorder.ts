/**
 * Exact latency percentiles from every sample (autocannon's own histogram has whole-millisecond resolution,
 * too coarse for a 1 ms budget).
 */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface LatencyRecorder {
  record(latencyMs: number): void;
  summary(): LatencySummary;
}

const INITIAL_CAPACITY = 65_536;

export function createLatencyRecorder(): LatencyRecorder {
  let samples = new Float64Array(INITIAL_CAPACITY);
  let count = 0;
  return {
    record(latencyMs) {
      if (count === samples.length) {
        const grown = new Float64Array(samples.length * 2);
        grown.set(samples);
        samples = grown;
      }
      samples[count] = latencyMs;
      count += 1;
    },
    summary() {
      const sorted = samples.slice(0, count).sort();
      const at = (quantile: number): number => (count === 0 ? Number.NaN : (sorted[Math.min(count - 1, Math.floor(quantile * count))] as number));
      return { count, p50Ms: at(0.5), p99Ms: at(0.99) };
    },
  };
}
