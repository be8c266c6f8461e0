/** The upstream's failures as the errors the responder understands, each saying what to check. */
import type { AppConfig } from '../config/runtime-config.js';
import { UpstreamTimeoutError, UpstreamUnavailableError } from '../errors.js';

export interface UpstreamDescription {
  /** A library error (or one of ours) as the error the responder understands. */
  describe(cause: unknown): UpstreamTimeoutError | UpstreamUnavailableError;
  timeout(): UpstreamTimeoutError;
  connectTimeout(): UpstreamUnavailableError;
  truncated(): UpstreamUnavailableError;
  /** The upstream's response head could not be passed on. */
  unusableResponse(cause: unknown): UpstreamUnavailableError;
}

/** The errors of one app's upstream, in an administrator's words. `connectTimeoutMs` bounds the TCP connect. */
export function describeUpstream(app: AppConfig, connectTimeoutMs: number): UpstreamDescription {
  // origin + path only: credentials in the URL must not reach a log line.
  const where = `App "${app.name}": the upstream ${app.upstream.origin}${app.upstream.pathname}`;
  const seconds = (ms: number): string => `${ms / 1000} s`;
  return {
    describe(cause) {
      if (cause instanceof UpstreamTimeoutError || cause instanceof UpstreamUnavailableError) return cause;
      const code = errorCode(cause);
      return new UpstreamUnavailableError(`${where} ${failureText(code, cause)}`, { cause, detail: code });
    },
    timeout() {
      return new UpstreamTimeoutError(
        `${where} sent nothing for ${seconds(app.upstreamTimeoutMs)}, so the request was abandoned. If the application is only slow, raise apps[].upstreamTimeoutSeconds of "${app.name}"; otherwise check its health.`,
        { detail: 'upstream_timeout' },
      );
    },
    connectTimeout() {
      return new UpstreamUnavailableError(
        `${where} did not accept a TCP connection within ${seconds(connectTimeoutMs)}. Check that the host is up and that no firewall drops traffic from the proxy.`,
        { detail: 'connect_timeout' },
      );
    },
    truncated() {
      return new UpstreamUnavailableError(
        `${where} closed the connection in the middle of its response; the client got a truncated response. Check the application's logs.`,
        { detail: 'response_truncated' },
      );
    },
    unusableResponse(cause) {
      return new UpstreamUnavailableError(
        `${where} sent a response head that cannot be passed on to the client (${cause instanceof Error ? cause.message : String(cause)}). Check the application and anything between it and the proxy.`,
        { cause, detail: 'invalid_response' },
      );
    },
  };
}

function errorCode(cause: unknown): string {
  if (cause instanceof Error && 'code' in cause && typeof cause.code === 'string') return cause.code;
  return 'unknown';
}

const TLS_FAILURE_CODE = /CERT|ERR_TLS|SSL|EPROTO/;

function failureText(code: string, cause: unknown): string {
  switch (code) {
    case 'ECONNREFUSED':
      return `refused the connection (${code}). Check that the application is running and listening there, and that apps[].upstream is right.`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `closed the connection before answering (${code}). Check the application's logs and any firewall or load balancer between the proxy and the application.`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot be found: its host name does not resolve (${code}). Check apps[].upstream and the DNS configuration of the proxy host.`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
      return `is not reachable (${code}). Check routing and firewalls between the proxy and the application.`;
    default:
      if (TLS_FAILURE_CODE.test(code)) {
        return `failed the TLS handshake (${code}). If the certificate is issued by a private CA, give it to the proxy with NODE_EXTRA_CA_CERTS; also check that apps[].upstream uses the right scheme and host name.`;
      }
      return `failed: ${cause instanceof Error ? cause.message : String(cause)} (${code}). Check that the application is running and that apps[].upstream is right.`;
  }
}
