/**
 * The connection to Crowd's REST API (`/rest/usermanagement/1`): one keep-alive undici Pool of CROWD_CONNECTIONS
 * connections, a first-come queue in front of it (so a call's crowd.timeoutMs starts when it is sent), the call
 * itself with its timeout, size cap and JSON decoding, and the report of every call (metrics). Transport failures
 * become typed errors here; what an answer means is crowd-errors.ts's.
 */
import { Pool, type Dispatcher } from 'undici';
import type { CrowdConfig } from '../config/runtime-config.js';
import { CrowdRejectedError, CrowdUnavailableError, type SsoProxyError } from '../errors.js';
import { exchange, type CrowdAnswer } from './crowd-exchange.js';
import { isJsonObject, stringField } from './crowd-replies.js';

/** How one Crowd call ended: `ok` is any answer Crowd gives in normal operation (a 404 for an unknown user too). */
export type CrowdCallOutcome = 'ok' | 'rejected' | 'server_error' | 'invalid_response' | 'timeout' | 'unreachable';

export interface CrowdCallReport {
  /** The call's label, without tokens or names: `POST /session/{token}`, `GET /user`. */
  readonly endpoint: string;
  readonly durationMs: number;
  readonly outcome: CrowdCallOutcome;
}


export interface CallOptions {
  readonly method: Dispatcher.HttpMethod;
  /** Path below `/rest/usermanagement/1`, segments already encoded. */
  readonly resource: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** The call as an administrator reads it, without tokens or passwords (`POST /session/{token}`). */
  readonly label: string;
  /** Values that must never appear in an error message (token, password). */
  readonly secrets?: readonly string[];
}

export interface Reply {
  readonly status: number;
  readonly json: unknown;
  /** Crowd's error entity `reason`, when the body is one. */
  readonly reason: string | undefined;
  /** Crowd's error `message`, shortened and with secrets removed ('' when absent). */
  readonly message: string;
  readonly label: string;
}

const REST_PATH = '/rest/usermanagement/1';
/** Crowd's answers are small; a bigger body means something else is answering. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
/**
 * Connections to Crowd, and so Crowd calls at once; more wait their turn in this client (not in the pool), so that
 * a call's `crowd.timeoutMs` starts when it is sent.
 */
export const CROWD_CONNECTIONS = 16;
/** Below Tomcat's default keep-alive (20 s) so the proxy, not Crowd, closes idle sockets. */
const KEEP_ALIVE_TIMEOUT_MS = 4_000;
const MAX_CROWD_MESSAGE_CHARS = 300;

function redact(text: string, secrets: readonly string[]): string {
  if (text === '') return text;
  let result = text;
  for (const secret of secrets) if (secret !== '') result = result.split(secret).join('[redacted]');
  return result.length > MAX_CROWD_MESSAGE_CHARS ? `${result.slice(0, MAX_CROWD_MESSAGE_CHARS)}…` : result;
}

function isTimeout(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return error.name === 'TimeoutError' || (typeof code === 'string' && code.endsWith('_TIMEOUT'));
}

/** The outcome of a call that got no usable answer (`unreachable` builds the error). */
function transportOutcome(error: SsoProxyError): CrowdCallOutcome {
  if (error.detail === 'timeout') return 'timeout';
  return error instanceof CrowdRejectedError ? 'invalid_response' : 'unreachable';
}

/** 401, or 403 without a Crowd reason, is Crowd refusing this proxy (credentials, remote address), not the user. */
function answerOutcome(status: number, reason: string | undefined): CrowdCallOutcome {
  if (status >= 500) return 'server_error';
  if (status === 401 || (status === 403 && reason === undefined)) return 'rejected';
  return 'ok';
}

export interface CrowdConnection {
  call(options: CallOptions): Promise<Reply>;
  /** Waits for calls in progress (each bounded by `crowd.timeoutMs`), then closes the connections. */
  close(): Promise<void>;
}

export function createCrowdConnection(config: CrowdConfig, onCall: ((report: CrowdCallReport) => void) | undefined): CrowdConnection {
  const base = new URL(config.baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '') + REST_PATH;
  const app = config.applicationName;
  const authorization = `Basic ${Buffer.from(`${app}:${config.applicationPassword}`, 'utf8').toString('base64')}`;
  const pool = new Pool(base.origin, {
    connections: CROWD_CONNECTIONS,
    connectTimeout: config.timeoutMs,
    headersTimeout: config.timeoutMs,
    bodyTimeout: config.timeoutMs,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    maxResponseSize: MAX_RESPONSE_BYTES,
  });

  const unreachable = (label: string, error: unknown): SsoProxyError => {
    if (isTimeout(error)) {
      return new CrowdUnavailableError(
        `Crowd at ${config.baseUrl} did not answer ${label} within crowd.timeoutMs (${config.timeoutMs} ms). ` +
          'Check that Crowd is running and reachable from the proxy, or raise crowd.timeoutMs.',
        { cause: error, detail: 'timeout' },
      );
    }
    if (error instanceof Error && (error as { code?: unknown }).code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
      return new CrowdRejectedError(
        `Crowd at ${config.baseUrl} answered ${label} with more than ${MAX_RESPONSE_BYTES} bytes. ` +
          'Check that crowd.baseUrl points at Crowd (including its context path, e.g. /crowd).',
        { cause: error, detail: 'response_too_large' },
      );
    }
    const code = error instanceof Error ? String((error as { code?: unknown }).code ?? error.name) : 'unknown error';
    return new CrowdUnavailableError(
      `Crowd at ${config.baseUrl} could not be reached for ${label} (${code}). ` +
        'Check crowd.baseUrl and that Crowd is running and reachable from the proxy.',
      { cause: error, detail: code },
    );
  };

  const report = (label: string, startedMs: number, outcome: CrowdCallOutcome): void => {
    onCall?.({ endpoint: label, durationMs: performance.now() - startedMs, outcome });
  };

  /** Calls holding one of the connections; those waiting for one follow in `waiting`, first come first served. */
  let sending = 0;
  const waiting: { readonly label: string; readonly sinceMs: number; readonly resolve: () => void; readonly reject: (error: SsoProxyError) => void }[] = [];

  /** undefined: send now; else the turn to wait for (rejected when no connection became free within crowd.timeoutMs). */
  const connectionTurn = (label: string): Promise<void> | undefined => {
    if (sending < CROWD_CONNECTIONS) {
      sending += 1;
      return undefined;
    }
    return new Promise((resolve, reject) => waiting.push({ label, sinceMs: performance.now(), resolve, reject }));
  };

  const connectionDone = (): void => {
    const nowMs = performance.now();
    for (let next = waiting.shift(); next !== undefined; next = waiting.shift()) {
      if (nowMs - next.sinceMs < config.timeoutMs) {
        next.resolve();
        return;
      }
      next.reject(
        new CrowdUnavailableError(
          `Crowd at ${config.baseUrl}: ${next.label} waited crowd.timeoutMs (${config.timeoutMs} ms) for one of the ${CROWD_CONNECTIONS} ` +
            'connections, all busy with calls Crowd answers slowly. Check Crowd\'s load and response times.',
          { detail: 'timeout' },
        ),
      );
    }
    sending -= 1;
  };

  /** Request headers as undici takes them, built once: with a body, and without. */
  const headersWithBody = ['authorization', authorization, 'accept', 'application/json', 'content-type', 'application/json'];
  const headersWithoutBody = headersWithBody.slice(0, 4);

  const call = async (options: CallOptions): Promise<Reply> => {
    const startedMs = performance.now();
    const secrets = options.secrets ?? [];
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const search = options.query === undefined ? '' : `?${new URLSearchParams(options.query).toString()}`;
    const turn = connectionTurn(options.label);
    if (turn !== undefined) {
      try {
        await turn;
      } catch (error) {
        report(options.label, startedMs, 'timeout');
        throw error;
      }
    }
    let answer: CrowdAnswer;
    try {
      answer = await exchange(
        pool,
        { path: basePath + options.resource + search, method: options.method, headers: body === undefined ? headersWithoutBody : headersWithBody, body },
        config.timeoutMs,
      );
    } catch (error) {
      const failure = unreachable(options.label, error);
      report(options.label, startedMs, transportOutcome(failure));
      throw failure;
    } finally {
      connectionDone();
    }
    const { status, contentType, text } = answer;
    let json: unknown;
    if (contentType.includes('json') && text.trim() !== '') {
      try {
        json = JSON.parse(text);
      } catch (error) {
        // A broken error page from a failing Crowd is still "Crowd unavailable", decided by status below.
        if (status < 500) {
          report(options.label, startedMs, 'invalid_response');
          throw new CrowdRejectedError(
            `Crowd answered ${options.label} with HTTP ${status} and a body that is not valid JSON. Check crowd.baseUrl.`,
            { cause: error, detail: `HTTP ${status} invalid_json` },
          );
        }
      }
    }
    const reason = isJsonObject(json) ? stringField(json, 'reason') : undefined;
    const message = isJsonObject(json) ? redact(stringField(json, 'message') ?? '', secrets) : '';
    report(options.label, startedMs, answerOutcome(status, reason));
    return { status, json, reason, message, label: options.label };
  };

  return { call, close: () => pool.close() };
}
