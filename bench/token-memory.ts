/**
 * Memory with a million distinct tokens: drives the token validator (the cache the gate uses) with `tokens`
 * distinct tokens against an in-process Crowd that answers at once, and samples RSS, heap and cache entries
 * after garbage collection. Run in a process of its own started with --expose-gc.
 */
import { randomBytes } from 'node:crypto';
import { createTokenValidator } from '../src/crowd/token-validator.js';
import type { TokenMemoryOptions, TokenMemoryResult, TokenMemorySample } from './bench-protocol.js';

/** Tokens validated at once (the gate's concurrency under a burst of new sessions). */
const BATCH = 1_000;
const SAMPLE_POINTS = [0.1, 0.25, 0.5, 0.75, 1];
/** A Crowd session's own lifetime; longer than any cache TTL so that it never shortens one. */
const SESSION_LIFETIME_MS = 30 * 60_000;
const FACTORS = [{ name: 'remote_address', value: '203.0.113.7' }] as const;

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('the token memory probe needs node --expose-gc');
  gc();
  gc();
}

export async function measureTokenMemory(options: TokenMemoryOptions): Promise<TokenMemoryResult> {
  let crowdCalls = 0;
  const crowd = {
    validateSession(token: string) {
      crowdCalls += 1;
      const nowMs = Date.now();
      return Promise.resolve({ token, username: `user${crowdCalls % 5_000}`, createdAtMs: nowMs, expiresAtMs: nowMs + SESSION_LIFETIME_MS });
    },
  };
  const validator = createTokenValidator({ crowd, ttlMs: options.ttlMs, negativeTtlMs: options.negativeTtlMs, maxEntries: options.maxEntries });
  // Crowd tokens are 24 characters of [A-Za-z0-9]; a random prefix keeps every run's tokens distinct.
  const prefix = randomBytes(6).toString('base64url');
  const sample = (tokensSeen: number): TokenMemorySample => {
    collectGarbage();
    const usage = process.memoryUsage();
    return { tokensSeen, rssBytes: usage.rss, heapUsedBytes: usage.heapUsed, cacheEntries: validator.entries() };
  };
  const checkpoints = SAMPLE_POINTS.map((point) => Math.round(point * options.tokens));
  const before = sample(0);
  const samples: TokenMemorySample[] = [];
  const startedAtMs = performance.now();
  const batch: Promise<unknown>[] = [];
  for (let seen = 0; seen < options.tokens; ) {
    const end = Math.min(seen + BATCH, options.tokens);
    batch.length = 0;
    for (let index = seen; index < end; index += 1) {
      batch.push(validator.validate(`${prefix}${index.toString(36).padStart(16, '0')}`, FACTORS, '203.0.113.7', '203.0.113.7'));
    }
    await Promise.all(batch);
    seen = end;
    if (checkpoints.includes(seen)) samples.push(sample(seen));
  }
  return { maxEntries: options.maxEntries, before, samples, crowdCalls, elapsedMs: performance.now() - startedAtMs };
}
