/**
 * What the request entry reports about each request: one access log line and the request metrics when the
 * response closes, and the login counters. Built once per runtime; per request it costs one symbol-keyed property on
 * the response (why not a WeakMap: see forwarder.ts) and one `close` listener shared by every response, and nothing at
 * all when the access log and metrics are off.
 */
import type { ServerResponse } from 'node:http';
import { isSsoProxyError } from '../errors.js';
import { createAccessLogWriter } from '../observability/access-log.js';
import type { Logger } from '../observability/logger.js';
import type { AccessDecision, RequestMetrics } from '../observability/metrics.js';

/** The fixed fields of the access line, filled in while the request is handled. */
export interface AccessFacts {
  readonly requestId: string;
  readonly host: string | undefined;
  readonly method: string | undefined;
  /** Without the query string: it may carry secrets (return URLs, SAML messages), so it is never logged. */
  readonly path: string;
  readonly clientIp: string;
  /** `performance.now()` when the request arrived. */
  readonly startedMs: number;
  /** The app the host routed to. */
  readonly site: { readonly app: { readonly name: string } } | undefined;
  readonly decision: AccessDecision;
  /** The Crowd user, once known (valid session, or completed login). */
  readonly user: string | undefined;
  /** `performance.now()` when the request was handed to the upstream. */
  readonly forwardedAtMs: number | undefined;
}

export interface RequestObserverOptions {
  readonly logger: Logger;
  readonly accessLog: boolean;
  /** Undefined when metrics are off (no admin listener). */
  readonly metrics: RequestMetrics | undefined;
}

export interface RequestObserver {
  /** Records the request once `res` closes, whether it finished or the client left. */
  track(res: ServerResponse, facts: AccessFacts): void;
  /** Records a WebSocket upgrade: refused with `status`, or handed to the app (101). */
  upgrade(facts: AccessFacts, status: number): void;
  loginSucceeded(): void;
  loginFailed(error: unknown): void;
}

/** On a response being tracked: the facts of its access line. */
const FACTS = Symbol('access facts');
type Tracked = ServerResponse & { [FACTS]?: AccessFacts | undefined };

/** Logged when the client went away before any response was sent (nginx's convention). */
const CLIENT_CLOSED_REQUEST = 499;
const MAX_LOGGED_HOST_CHARS = 255;
const MAX_LOGGED_PATH_CHARS = 1024;

export function createRequestObserver(options: RequestObserverOptions): RequestObserver {
  const { logger, accessLog, metrics } = options;
  // The access line has fixed fields, none of them a redacted path (logger.ts): it is written by hand, past pino's
  // redaction and generic serialization. Its level is checked on `logger`, whose level a reload changes.
  const writeAccessLine = createAccessLogWriter(logger);

  function record(facts: AccessFacts, status: number): void {
    const endMs = performance.now();
    const app = facts.site?.app.name;
    if (metrics !== undefined) {
      metrics.request(app, facts.decision, status);
      if (facts.forwardedAtMs !== undefined && app !== undefined) metrics.upstreamResponse(app, (endMs - facts.forwardedAtMs) / 1000);
    }
    if (!accessLog || !logger.isLevelEnabled('info')) return;
    writeAccessLine({
      reqId: facts.requestId,
      host: clip(facts.host, MAX_LOGGED_HOST_CHARS),
      app,
      decision: facts.decision,
      status,
      durationUs: Math.round((endMs - facts.startedMs) * 1000),
      method: facts.method,
      path: clip(facts.path, MAX_LOGGED_PATH_CHARS),
      clientIp: facts.clientIp,
      user: facts.user,
    });
  }

  function onResponseClose(this: ServerResponse): void {
    const facts = (this as Tracked)[FACTS];
    if (facts === undefined) return;
    (this as Tracked)[FACTS] = undefined;
    record(facts, this.headersSent ? this.statusCode : CLIENT_CLOSED_REQUEST);
  }

  return {
    track(res, facts) {
      if (metrics === undefined && !(accessLog && logger.isLevelEnabled('info'))) return;
      (res as Tracked)[FACTS] = facts;
      res.on('close', onResponseClose);
    },
    upgrade(facts, status) {
      if (metrics === undefined && !(accessLog && logger.isLevelEnabled('info'))) return;
      record(facts, status);
    },
    loginSucceeded() {
      metrics?.loginSucceeded();
    },
    loginFailed(error) {
      metrics?.loginFailed(isSsoProxyError(error) ? error.reason : 'internal_error');
    },
  };
}

function clip(text: string | undefined, maxChars: number): string | undefined {
  return text !== undefined && text.length > maxChars ? `${text.slice(0, maxChars)}…` : text;
}
