/**
 * One slice of an HTTP load row: autocannon (in this process) against a local server for a bounded time, with a
 * Cookie header chosen per request (so every row pays the same load-generator cost). Latencies of 2xx responses go
 * into the row's recorder.
 */
import autocannon from 'autocannon';
import type { LatencyRecorder } from './latency-recorder.js';

export interface HttpLoadOptions {
  /** `http://127.0.0.1:<port><path>` */
  readonly url: string;
  /** Host header (the proxy routes by it). */
  readonly host: string;
  readonly connections: number;
  readonly durationSeconds: number;
  /** Stop after this many requests instead (before `durationSeconds`). */
  readonly requests?: number;
  /** The Cookie header of the next request. */
  readonly nextCookieHeader: () => string;
  readonly latencies: LatencyRecorder;
}

export interface LoadSlice {
  /** Completed 2xx responses (or WebSocket round trips). */
  readonly completed: number;
  /** Responses that were not 2xx, connection errors and timeouts (or WebSockets closed early). */
  readonly failures: number;
  readonly elapsedSeconds: number;
}

/** What a browser sends besides the Crowd cookie; the proxy has to scan past it. */
const BROWSER_HEADERS = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'accept-language': 'en-GB,en;q=0.9',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
} as const;

export async function measureHttp(options: HttpLoadOptions): Promise<LoadSlice> {
  const headers = { ...BROWSER_HEADERS, host: options.host };
  const startedAtMs = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationSeconds,
        ...(options.requests === undefined ? {} : { amount: options.requests }),
        timeout: 10,
        headers,
        requests: [{ setupRequest: (request) => ({ ...request, headers: { ...headers, cookie: options.nextCookieHeader() } }) }],
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
      if (statusCode >= 200 && statusCode < 300) options.latencies.record(responseTimeMs);
    });
  });
  return {
    completed: result['2xx'],
    // autocannon counts timeouts among its errors.
    failures: result.non2xx + result.errors,
    elapsedSeconds: (performance.now() - startedAtMs) / 1000,
  };
}
