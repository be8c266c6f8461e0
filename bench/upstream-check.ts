/**
 * The start-up check of a row whose server signs users in: one request with the row's cookies must come back 2xx
 * with the bench upstream's page. A proxy answering a login redirect or a page of its own fast must not be measured
 * as if it proxied.
 */
import { request } from 'undici';

/** Text of the bench upstream's small page (bench-upstream.ts). */
const UPSTREAM_PAGE_MARK = '<title>Benchmark page</title>';
const CHECK_TIMEOUT_MS = 10_000;

/** Undefined when GET `/` through 127.0.0.1:`port` reached the upstream; else what came back instead. */
export async function checkReachesUpstream(port: number, host: string, cookieHeader: string): Promise<string | undefined> {
  try {
    const response = await request(`http://127.0.0.1:${port}/`, { headers: { host, cookie: cookieHeader }, headersTimeout: CHECK_TIMEOUT_MS, bodyTimeout: CHECK_TIMEOUT_MS });
    const body = await response.body.text();
    if (response.statusCode >= 200 && response.statusCode < 300 && body.includes(UPSTREAM_PAGE_MARK)) return undefined;
    const location = response.headers.location === undefined ? '' : ` (Location: ${String(response.headers.location)})`;
    return `a signed-in request got HTTP ${response.statusCode}${location}, not the upstream's page`;
  } catch (error) {
    return `a signed-in request failed: ${error instanceof Error ? error.message : String(error)}`;
  }
}
