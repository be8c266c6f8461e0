/**
 * One HTTP load row: autocannon (in this process) against a local server for a bounded time, with a Cookie
 * header chosen per request (so every row pays the same load-generator cost) and exact latency percentiles.
 */
import autocannon from 'autocannon';
import { createLatencyRecorder } from './latency-recorder.js';

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
}

export interface HttpLoadResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Completed 2xx responses. */
  readonly okResponses: number;
  /** Responses that were not 2xx, connection errors and timeouts. */
  readonly failures: number;
  readonly bytesPerSecond: number;
}

/** What a browser sends besides the Crowd cookie; the proxy has to scan past it. */
const BROWSER_HEADERS = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'accept-language': 'en-GB,en;q=0.9',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
} as const;

export async function measureHttp(options: HttpLoadOptions): Promise<HttpLoadResult> {
  const latencies = createLatencyRecorder();
  const headers = { ...BROWSER_HEADERS, host: options.host };
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
      if (statusCode >= 200 && statusCode < 300) latencies.record(responseTimeMs);
    });
  });
  const summary = latencies.summary();
  const seconds = result.duration > 0 ? result.duration : options.durationSeconds;
  return {
    requestsPerSecond: result['2xx'] / seconds,
    p50Ms: summary.p50Ms,
    p99Ms: summary.p99Ms,
    okResponses: result['2xx'],
    // autocannon counts timeouts among its errors.
    failures: result.non2xx + result.errors,
    bytesPerSecond: result.throughput.total / seconds,
  };
}
