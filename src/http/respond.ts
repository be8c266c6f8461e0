import type { IncomingMessage, ServerResponse } from 'node:http';
import { InternalError, isSsoProxyError, type SsoProxyError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { renderPage, type PageContent } from './pages.js';

/** Fields every error log line carries (the fixed log field list). */
export interface ErrorLogFields {
  readonly reqId: string;
  readonly host: string | undefined;
  readonly app: string | undefined;
}

const NO_STORE = 'no-store';

/** Whether the client wants a page (a browser) or a short JSON body (XHR, API clients). */
export function wantsHtml(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  return accept !== undefined && accept.includes('text/html') && req.headers['x-requested-with'] === undefined;
}

/** Headers of every page the proxy renders itself (no caching, no sniffing, nothing loaded from elsewhere). */
export const PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/html; charset=utf-8',
  'cache-control': NO_STORE,
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
});

export function sendPage(
  res: ServerResponse,
  page: Parameters<typeof renderPage>[0],
  content: PageContent,
  headers: Record<string, string | string[]> = {},
): void {
  const body = renderPage(page, content);
  res.writeHead(content.status, { ...PAGE_HEADERS, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': NO_STORE, ...headers });
  res.end(body);
}

export function redirect(res: ServerResponse, status: 302 | 303 | 308, location: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, { location, 'cache-control': NO_STORE, 'content-length': 0, ...headers });
  res.end();
}

/** The cause chain as plain messages, for the log (never shown to the browser). */
function causes(error: unknown): string[] {
  const out: string[] = [];
  let current = (error as { cause?: unknown } | undefined)?.cause;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    out.push(current instanceof Error ? `${current.name}: ${current.message}` : String(current));
    current = (current as { cause?: unknown }).cause;
  }
  return out;
}

/** What a page may add for this person: who they are signed in as, and a way out (already validated URLs). */
export type PageExtras = Pick<PageContent, 'note' | 'link'>;

/** The answer to a failure, not yet sent: a page for a browser, a short JSON body for XHR and API clients. */
export function errorAnswer(
  failure: SsoProxyError,
  req: IncomingMessage,
  requestId: string,
  extras: PageExtras = {},
): { readonly status: number; readonly headers: Readonly<Record<string, string>>; readonly body: string } {
  const entry = failure.entry;
  if (wantsHtml(req)) {
    const link = extras.link ?? (failure.retryUrl === undefined ? undefined : { href: failure.retryUrl, text: 'Sign in again' });
    const content = { status: entry.status, message: failure.publicMessage, requestId, ...(link === undefined ? {} : { link }), ...(extras.note === undefined ? {} : { note: extras.note }) };
    return { status: entry.status, headers: PAGE_HEADERS, body: renderPage(entry.page, content) };
  }
  const body = JSON.stringify({ error: failure.code, reason: entry.reason, message: failure.publicMessage, requestId });
  return { status: entry.status, headers: JSON_HEADERS, body };
}

const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'content-type': 'application/json', 'cache-control': NO_STORE });

/**
 * The one place errors become responses and log lines: the page (or JSON) shows plain words and the
 * request id; the log has the code, reason, detail and cause chain.
 */
export function respondError(logger: Logger, error: unknown, req: IncomingMessage, res: ServerResponse, fields: ErrorLogFields, extras: PageExtras = {}): void {
  const failure: SsoProxyError = isSsoProxyError(error)
    ? error
    : new InternalError(error instanceof Error ? error.message : String(error), { cause: error });
  const entry = failure.entry;
  logger[entry.level](
    {
      reqId: fields.reqId,
      host: fields.host,
      app: fields.app,
      code: failure.code,
      reason: entry.reason,
      detail: failure.detail,
      status: entry.status,
      causes: causes(failure),
      ...(isSsoProxyError(error) ? {} : { stack: (error as Error | undefined)?.stack }),
    },
    failure.message,
  );
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // A 413 or 408 keeps the connection while the rest of the body is read and discarded (linger-close.ts): closing it
  // at once would let the client's TCP stack drop this answer.
  const answer = errorAnswer(failure, req, fields.reqId, extras);
  res.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) });
  res.end(answer.body);
}
