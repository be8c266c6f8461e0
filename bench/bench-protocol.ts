/** Messages between the benchmark runner and its server processes (Node IPC). */

/** What a server process runs; each role listens on 127.0.0.1, port 0. */
export type BenchServerSpec =
  | { readonly role: 'upstream' }
  | { readonly role: 'bare-http-proxy'; readonly upstreamPort: number }
  | { readonly role: 'fake-crowd'; readonly applicationName: string; readonly applicationPassword: string; readonly username: string }
  | { readonly role: 'sso-proxy'; readonly configPath: string }
  /** No server: answers `token-memory` (started with --expose-gc). */
  | { readonly role: 'probe' };

/** `POST /session/{token}` calls since the last `crowd-mark`: each token validated, and how often. */
export type CrowdValidations = readonly (readonly [token: string, calls: number])[];

export interface TokenMemoryOptions {
  readonly tokens: number;
  readonly maxEntries: number;
  readonly ttlMs: number;
  readonly negativeTtlMs: number;
}

export interface TokenMemorySample {
  readonly tokensSeen: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly cacheEntries: number;
}

export interface TokenMemoryResult {
  readonly maxEntries: number;
  readonly before: TokenMemorySample;
  readonly samples: readonly TokenMemorySample[];
  readonly crowdCalls: number;
  readonly elapsedMs: number;
}

/** Requests the runner sends, and what each one answers. */
export interface BenchReplies {
  readonly 'cpu-usage': NodeJS.CpuUsage;
  readonly 'crowd-mark': null;
  readonly 'crowd-calls': CrowdValidations;
  readonly 'crowd-sessions': readonly string[];
  readonly 'crowd-latency': null;
  readonly 'token-memory': TokenMemoryResult;
  readonly 'token-lookups': number;
  readonly close: null;
}

export type BenchRequest =
  | { readonly kind: 'cpu-usage' }
  | { readonly kind: 'crowd-mark' }
  | { readonly kind: 'crowd-calls' }
  /** Creates `count` Crowd sessions for the user; answers their tokens. */
  | { readonly kind: 'crowd-sessions'; readonly count: number }
  | { readonly kind: 'crowd-latency'; readonly latencyMs: number }
  | ({ readonly kind: 'token-memory' } & TokenMemoryOptions)
  /** crowd-sso-proxy: Crowd token lookups so far (token cache hits + misses, from its metrics). */
  | { readonly kind: 'token-lookups' }
  | { readonly kind: 'close' };

export type BenchRequestEnvelope = { readonly id: number; readonly request: BenchRequest };

export type BenchServerMessage =
  | { readonly kind: 'ready'; readonly port: number }
  | { readonly kind: 'reply'; readonly id: number; readonly value: unknown }
  | { readonly kind: 'failed'; readonly id: number | undefined; readonly message: string };
