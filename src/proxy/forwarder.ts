/**
 * Forwards HTTP requests and WebSocket upgrades to the apps' upstreams over one keep-alive agent per app, built at
 * startup. Bodies stream both ways; nothing is buffered.
 *
 * HTTP requests go through Node's own client (`http.request`, then the upstream response piped into the client
 * response): the forwarder had already replaced or switched off most of what http-proxy's web passes do (its error
 * handling, its timeout, its Connection header, its DELETE/OPTIONS body rewrite, which let a chunked body through as a
 * smuggled second request), and the rest cost a fifth of the proxy's CPU per request (measured against a bare
 * http-proxy under the same load: 1.44× → 1.21× its CPU). WebSocket upgrades still go through http-proxy's `ws`.
 *
 * Before anything is forwarded the request headers are cleaned: hop-by-hop headers and every forwarding or
 * identity header a client could forge are removed, then the proxy's own `X-Forwarded-For` (a single entry,
 * because Crowd's validation factors depend on the exact string the app sees, crowd.md §3.3/3.4),
 * `X-Forwarded-Proto`, `X-Forwarded-Host` and `X-Request-Id` are set.
 *
 * Upstream failures never throw and never reach http-proxy's default handler (which would crash the
 * process): they become UpstreamUnavailableError / UpstreamTimeoutError, reported once per request.
 */
import http, { STATUS_CODES, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import type { AppConfig } from '../config/runtime-config.js';
import { ConfigError, UpstreamTimeoutError, UpstreamUnavailableError } from '../errors.js';
import { describeUpstream, type UpstreamDescription } from './upstream-errors.js';
import { prepareUpstreamHeaders } from './upstream-headers.js';

/**
 * What the forwarder reads of the request's context (the request entry's one context object satisfies it), and the
 * one field it writes.
 */
export interface ForwardContext {
  /** Sent as the single `X-Forwarded-For` entry. */
  readonly clientIp: string;
  readonly proto: 'http' | 'https';
  /** The host the client asked for; sent as `X-Forwarded-Host` (and as `Host` when the request had none). */
  readonly host: string | undefined;
  readonly requestId: string;
  /** A string REPLACES the request's `Cookie` header upstream (`''` = send none); undefined leaves it as it is. */
  readonly cookieHeader: string | undefined;
  /** A cookie name whose `Set-Cookie` in the app's answer never reaches the client (a Crowd session the app made from a password). */
  readonly dropSetCookie: string | undefined;
  /**
   * The vetted Crowd token this forward carries. When the app answers it with a redirect to one of its login pages
   * (`apps[].loginPaths`) or a 401, the app did not accept the session: `ForwarderOptions.onSessionRefused` decides.
   */
  readonly sessionToken: string | undefined;
  /** Set here: `performance.now()` when the request was handed to the upstream (the upstream-latency metric). */
  forwardedAtMs: number | undefined;
}

export type UpstreamError = UpstreamUnavailableError | UpstreamTimeoutError;

/** What to send the client instead of the upstream response as it is (see `forwardWithRewrite`). */
export type ResponseRewrite =
  /** The upstream response, with these Set-Cookie values added after its own. */
  | { readonly kind: 'pass'; readonly setCookies: readonly string[] }
  /** A response of the proxy's own; the upstream body is discarded, its Set-Cookie values are kept (then these). */
  | {
      readonly kind: 'replace';
      readonly status: number;
      readonly headers: Readonly<Record<string, string>>;
      readonly body: string;
      readonly setCookies: readonly string[];
    };

/** Decides, from the upstream response head, what the client gets. Must not reject. */
export type ResponseRewriter = (upstream: { readonly statusCode: number; readonly headers: IncomingHttpHeaders }) => Promise<ResponseRewrite>;

export interface ForwarderOptions {
  /**
   * Called exactly once per failed HTTP forward. While `res.headersSent` is false, answer it (502/504 page).
   * When it is true the upstream failed in the middle of its response: the forwarder has already destroyed
   * `res` (the client sees a truncated response), so only log.
   */
  readonly onUpstreamError: (error: UpstreamError, req: IncomingMessage, res: ServerResponse) => void;
  /**
   * Called exactly once per failed WebSocket forward, after the forwarder answered `502`/`504` on the socket
   * (or destroyed it, once the handshake was under way). For logging only.
   */
  readonly onUpgradeError?: (error: UpstreamError, req: IncomingMessage) => void;
  /** What the client gets instead of an app's answer that refuses a vetted session (see ForwardContext.sessionToken). Must not reject. */
  readonly onSessionRefused?: (
    req: IncomingMessage,
    app: AppConfig,
    ctx: ForwardContext,
    upstream: { readonly statusCode: number; readonly headers: IncomingHttpHeaders },
  ) => Promise<ResponseRewrite>;
}

/** One app's upstream, built at startup (its keep-alive agent, its WebSocket proxy, its login paths). */
export interface AppUpstream {
  forward(req: IncomingMessage, res: ServerResponse, ctx: ForwardContext): void;
  /**
   * Like `forward`, but the upstream response head first goes to `rewrite`, which may add Set-Cookie values or
   * replace the response (an app's logout URL). Rare: costs a per-request options object and a promise.
   */
  forwardWithRewrite(req: IncomingMessage, res: ServerResponse, ctx: ForwardContext, rewrite: ResponseRewriter): void;
  /** For a server `upgrade` event; only WebSocket upgrades (`GET` + `Upgrade: websocket`) are forwarded, others are dropped. */
  forwardUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ctx: ForwardContext): void;
}

export interface Forwarder {
  /** The app's upstream, built with the forwarder; a TypeError for an app it was not built with (a wiring mistake, found at startup). */
  upstreamOf(app: AppConfig): AppUpstream;
  /**
   * Resolves once no WebSocket tunnel is open any more (after a reload, the previous configuration's forwarder
   * lets its tunnels run to their natural end; its idle upstream connections close by themselves).
   */
  tunnelsClosed(): Promise<void>;
  /** Closes every upstream connection and open WebSocket tunnel. */
  close(): Promise<void>;
}

/** Connections to one upstream at once; more requests wait in the agent's queue. */
const MAX_SOCKETS_PER_UPSTREAM = 256;
const MAX_FREE_SOCKETS_PER_UPSTREAM = 64;
/**
 * How long an idle keep-alive connection is kept. Below the usual upstream keep-alive timeouts (Node 5 s,
 * Tomcat 20 s) so the proxy, not the upstream, closes idle connections, which avoids resets on reuse; it is
 * undici's default. Node applies the agent timeout while a new connection is being opened too, so it also
 * bounds the TCP connect.
 */
const IDLE_SOCKET_TIMEOUT_MS = 4_000;
const TCP_KEEPALIVE_DELAY_MS = 1_000;

/** The keep-alive agent of every upstream (exported so the benchmark's bare http-proxy runs with the same). */
export const UPSTREAM_AGENT_OPTIONS: Readonly<http.AgentOptions> = Object.freeze({
  keepAlive: true,
  keepAliveMsecs: TCP_KEEPALIVE_DELAY_MS,
  maxSockets: MAX_SOCKETS_PER_UPSTREAM,
  maxFreeSockets: MAX_FREE_SOCKETS_PER_UPSTREAM,
  timeout: IDLE_SOCKET_TIMEOUT_MS,
  scheduling: 'lifo',
});

type TunnelErrorCallback = (error: Error, req: IncomingMessage, socket: Duplex) => void;

/**
 * http-proxy also accepts the callback in place of per-request options, which spares a copy of the options
 * per request; its typings only declare the four-argument form.
 */
interface WebSocketEntryPoint {
  ws(req: IncomingMessage, socket: Duplex, head: Buffer, callback: TunnelErrorCallback): void;
}

interface CompiledUpstream {
  readonly upstream: AppUpstream;
  readonly agent: http.Agent;
}

/*
 * Per-request links (client response → upstream request, and so on) are symbol-keyed properties of the request's own
 * objects, read and written right where they are used.
 * - Not a WeakMap: its entries are ephemerons, and V8's minor GC keeps an ephemeron's value alive while its key is
 *   merely unreached, so a finished request whose value leads back to its key (response → upstream request → response)
 *   survived every scavenge and was promoted to the old generation, a whole request graph (~16 KB) at a time (measured:
 *   scavenges took ~4.5× as long, and a full GC came every few seconds).
 * - Not a shared get/set helper: its one property access would see every kind of object and every symbol, and go
 *   megamorphic (V8's IC log showed it); at each use site the access sees one kind of object.
 */
const UPSTREAM_REQUEST = Symbol('upstream request');
const CLIENT_RESPONSE = Symbol('client response');
const REWRITER = Symbol('response rewriter');
const FAILED = Symbol('failure reported');
const HANDSHAKE_ANSWERED = Symbol('handshake answered');
const DROP_SET_COOKIE = Symbol('set-cookie dropped');
const SESSION_FORWARD = Symbol('forward with a vetted session');

interface Links {
  /** On a client response or socket: the upstream request made for it. */
  [UPSTREAM_REQUEST]?: ClientRequest | undefined;
  /** On an upstream response: the client response it is piped into. */
  [CLIENT_RESPONSE]?: ServerResponse | undefined;
  /** On a client response whose upstream response head goes to a rewriter first. */
  [REWRITER]?: ResponseRewriter | undefined;
  /** On a client response or socket whose failure has been handled (exactly-once reporting). */
  [FAILED]?: true | undefined;
  /** On an upstream WebSocket handshake that got an answer: from then on the client socket carries the upstream's bytes. */
  [HANDSHAKE_ANSWERED]?: true | undefined;
  /** On a client response: `<name>=`, the start of the upstream Set-Cookie values it must not pass on (ForwardContext.dropSetCookie). */
  [DROP_SET_COOKIE]?: string | undefined;
  /** On a client response: the forward carried a vetted session (its answer is watched for a refusal of it). */
  [SESSION_FORWARD]?: ForwardContext | undefined;
}

/** The same object, typed with its links (no property access here: see above). */
const linked = (target: object): Links => target as Links;

const NO_COOKIES: readonly string[] = Object.freeze([]);

export function createForwarder(apps: readonly AppConfig[], options: ForwarderOptions): Forwarder {
  const tunnels = new Set<Duplex>();
  const tunnelsClosedWaiters: (() => void)[] = [];
  const upstreams = new Map<AppConfig, CompiledUpstream>();

  function notifyIfNoTunnels(): void {
    if (tunnels.size === 0) for (const resolve of tunnelsClosedWaiters.splice(0)) resolve();
  }

  function onClientResponseClose(this: ServerResponse): void {
    if (!this.writableFinished) linked(this)[UPSTREAM_REQUEST]?.destroy();
  }

  function onTunnelClose(this: Duplex): void {
    tunnels.delete(this);
    notifyIfNoTunnels();
    const proxyReq = linked(this)[UPSTREAM_REQUEST];
    if (proxyReq === undefined) return;
    proxyReq.destroy();
    // After the upgrade the request is finished but its socket is the upstream end of the tunnel.
    proxyReq.socket?.destroySoon();
  }

  function onHandshakeAnswered(this: ClientRequest): void {
    linked(this)[HANDSHAKE_ANSWERED] = true;
  }

  function failResponse(upstream: UpstreamDescription, cause: unknown, req: IncomingMessage, res: ServerResponse): void {
    const links = linked(res);
    if (links[FAILED] === true) return;
    links[FAILED] = true;
    links[UPSTREAM_REQUEST]?.destroy();
    if (req.socket.destroyed || res.writableEnded) {
      // The client left (or the answer was complete): nothing to answer, nobody to tell.
      res.destroy();
      return;
    }
    const error = upstream.describe(cause);
    if (res.headersSent) res.destroy();
    options.onUpstreamError(error, req, res);
  }

  function failTunnel(upstream: UpstreamDescription, cause: unknown, req: IncomingMessage, socket: Duplex): void {
    const links = linked(socket);
    if (links[FAILED] === true) return;
    links[FAILED] = true;
    const proxyReq = links[UPSTREAM_REQUEST];
    proxyReq?.destroy();
    if (socket.destroyed) return;
    const error = upstream.describe(cause);
    if (proxyReq !== undefined && linked(proxyReq)[HANDSHAKE_ANSWERED] === true) {
      socket.destroy();
    } else {
      socket.end(`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
    options.onUpgradeError?.(error, req);
  }

  function compileUpstream(app: AppConfig): CompiledUpstream {
    const upstream = describeUpstream(app, IDLE_SOCKET_TIMEOUT_MS);
    const isTls = app.upstream.protocol === 'https:';
    const agent = isTls ? new https.Agent({ ...UPSTREAM_AGENT_OPTIONS, rejectUnauthorized: true }) : new http.Agent({ ...UPSTREAM_AGENT_OPTIONS });
    const target = targetOf(app.upstream);
    const request = isTls ? https.request : http.request;
    const loginPaths: ReadonlySet<string> = new Set(app.loginPaths.map((path) => path.toLowerCase()));
    const proxy = httpProxy.createProxyServer({
      target,
      agent,
      ws: true,
      xfwd: false,
      changeOrigin: false,
      secure: true,
      prependPath: true,
      followRedirects: false,
      // No `proxyTimeout`: http-proxy answers it with a bare abort(), indistinguishable from a reset. The timeout
      // is set per upstream request below instead.
    });

    function onUpstreamTimeout(this: ClientRequest): void {
      this.destroy(this.socket?.connecting === true ? upstream.connectTimeout() : upstream.timeout());
    }

    function onUpstreamResponseClose(this: IncomingMessage): void {
      if (this.complete) return;
      const res = linked(this)[CLIENT_RESPONSE];
      if (res !== undefined) failResponse(upstream, upstream.truncated(), res.req, res);
    }

    const onTunnelError: TunnelErrorCallback = (error, req, socket) => {
      failTunnel(upstream, error, req, socket);
    };

    function onUpstreamResponse(this: ClientRequest, proxyRes: IncomingMessage): void {
      const res = linked(this)[CLIENT_RESPONSE] as ServerResponse;
      linked(proxyRes)[CLIENT_RESPONSE] = res;
      proxyRes.on('close', onUpstreamResponseClose);
      const rewrite = linked(res)[REWRITER];
      if (rewrite !== undefined) {
        sendRewritten(upstream, proxyRes, res, rewrite);
        return;
      }
      const sessionForward = linked(res)[SESSION_FORWARD];
      const onSessionRefused = options.onSessionRefused;
      if (sessionForward !== undefined && onSessionRefused !== undefined && refusesSession(proxyRes, loginPaths)) {
        sendRewritten(upstream, proxyRes, res, (head) => onSessionRefused(res.req, app, sessionForward, head));
        return;
      }
      passResponse(upstream, proxyRes, res, NO_COOKIES);
    }

    function onUpstreamRequestError(this: ClientRequest, error: Error): void {
      const res = linked(this)[CLIENT_RESPONSE] as ServerResponse;
      failResponse(upstream, error, res.req, res);
    }

    function send(req: IncomingMessage, res: ServerResponse, ctx: ForwardContext): void {
      ctx.forwardedAtMs = performance.now();
      const proxyReq = request({
        agent,
        protocol: target.protocol,
        host: target.hostname,
        port: target.port,
        method: req.method,
        // The path exactly as the client sent it, after the upstream's own path prefix.
        path: target.path + (req.url ?? '/'),
        headers: req.headers,
        setHost: false,
      });
      linked(proxyReq)[CLIENT_RESPONSE] = res;
      linked(res)[UPSTREAM_REQUEST] = proxyReq;
      // `on`, not `once`: each emitter is one request's and fires once, so a `once` wrapper would be garbage per request.
      proxyReq.setTimeout(app.upstreamTimeoutMs, onUpstreamTimeout);
      proxyReq.on('response', onUpstreamResponse);
      proxyReq.on('error', onUpstreamRequestError);
      res.on('close', onClientResponseClose);
      // Without Content-Length or Transfer-Encoding a request has no body (RFC 9112 §6.3): nothing to stream.
      if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) proxyReq.end();
      else req.pipe(proxyReq);
    }

    proxy.on('proxyReqWs', (proxyReq, _req, socket) => {
      linked(socket)[UPSTREAM_REQUEST] = proxyReq;
      proxyReq.setTimeout(app.upstreamTimeoutMs, onUpstreamTimeout);
      proxyReq.once('response', onHandshakeAnswered);
      proxyReq.once('upgrade', onHandshakeAnswered);
    });

    const webSocket = proxy as unknown as WebSocketEntryPoint;

    return {
      agent,
      upstream: {
        forward(req, res, ctx) {
          // The client may have left while the request was being authenticated: then there is nothing to forward.
          if (req.socket.destroyed) return;
          if (ctx.dropSetCookie !== undefined) linked(res)[DROP_SET_COOKIE] = `${ctx.dropSetCookie.toLowerCase()}=`;
          if (ctx.sessionToken !== undefined) linked(res)[SESSION_FORWARD] = ctx;
          prepareUpstreamHeaders(req.headers, ctx, undefined);
          send(req, res, ctx);
        },

        forwardWithRewrite(req, res, ctx, rewrite) {
          if (req.socket.destroyed) return;
          linked(res)[REWRITER] = rewrite;
          prepareUpstreamHeaders(req.headers, ctx, undefined);
          send(req, res, ctx);
        },

        forwardUpgrade(req, socket, head, ctx) {
          // Node removes its own socket error handler before emitting `upgrade`; without one a client reset would crash the process.
          socket.on('error', destroySocket);
          if (socket.destroyed) return;
          tunnels.add(socket);
          socket.once('close', onTunnelClose);
          prepareUpstreamHeaders(req.headers, ctx, req.headers.upgrade ?? '');
          ctx.forwardedAtMs = performance.now();
          webSocket.ws(req, socket, head, onTunnelError);
        },
      },
    };
  }

  const names = new Set<string>();
  for (const app of apps) {
    if (names.has(app.name)) {
      throw new ConfigError([{ path: 'apps', message: `Two apps are named "${app.name}". Give every app a unique name.` }]);
    }
    names.add(app.name);
    upstreams.set(app, compileUpstream(app));
  }

  /** The upstream response to the client: its head (with `setCookies` after the upstream's own), then its body. */
  function passResponse(upstream: UpstreamDescription, proxyRes: IncomingMessage, res: ServerResponse, setCookies: readonly string[]): void {
    if (res.headersSent || res.destroyed) {
      proxyRes.resume();
      return;
    }
    try {
      writeUpstreamHead(proxyRes, res, setCookies);
    } catch (error) {
      // Node's parser let the upstream's head through, but the client response refused it (a status below 100): the
      // headers copied so far go, and the client gets an answer of ours instead of a crash.
      for (let index = 0; index < proxyRes.rawHeaders.length; index += 2) res.removeHeader(proxyRes.rawHeaders[index] as string);
      res.removeHeader('connection');
      proxyRes.resume();
      failResponse(upstream, upstream.unusableResponse(error), res.req, res);
      return;
    }
    proxyRes.pipe(res);
  }

  /** The upstream response head goes to `rewrite` first (an app's logout URL). */
  function sendRewritten(upstream: UpstreamDescription, proxyRes: IncomingMessage, res: ServerResponse, rewrite: ResponseRewriter): void {
    const statusCode = proxyRes.statusCode ?? 502;
    rewrite({ statusCode, headers: proxyRes.headers }).then(
      (result) => {
        if (result.kind === 'pass') {
          passResponse(upstream, proxyRes, res, result.setCookies);
          return;
        }
        if (res.destroyed || res.headersSent) {
          proxyRes.resume();
          return;
        }
        const upstreamCookies = proxyRes.headers['set-cookie'] ?? [];
        proxyRes.resume();
        res.writeHead(result.status, {
          ...result.headers,
          'content-length': Buffer.byteLength(result.body),
          'set-cookie': [...upstreamCookies, ...result.setCookies],
        });
        res.end(result.body);
      },
      () => {
        proxyRes.resume();
        res.destroy();
      },
    );
  }

  return {
    upstreamOf(app) {
      const compiled = upstreams.get(app);
      if (compiled === undefined) throw new TypeError(`the forwarder was not built with app "${app.name}"`);
      return compiled.upstream;
    },

    tunnelsClosed() {
      return tunnels.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => tunnelsClosedWaiters.push(resolve));
    },

    close() {
      for (const socket of tunnels) socket.destroy();
      tunnels.clear();
      notifyIfNoTunnels();
      for (const upstream of upstreams.values()) upstream.agent.destroy();
      return Promise.resolve();
    },
  };
}

/**
 * Status line and headers of the client response, as the upstream sent them (names in their own case; a header the
 * upstream repeated stays repeated) but for the hop-by-hop ones: the upstream's Connection/Keep-Alive describe the
 * proxy-upstream hop, and for the client hop Node's own decision stands (keep-alive, or close when the client asked
 * to). A 1.0 client cannot read chunked encoding: without Transfer-Encoding, Node frames the body by closing.
 * `setCookies` come after the upstream's own Set-Cookie headers.
 */
function writeUpstreamHead(proxyRes: IncomingMessage, res: ServerResponse, setCookies: readonly string[]): void {
  const raw = proxyRes.rawHeaders;
  const dropEncoding = res.req.httpVersion === '1.0';
  const dropCookie = linked(res)[DROP_SET_COOKIE];
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index] as string;
    // Only names of these lengths can be dropped (`set-cookie` is as long as `connection`); the others skip the lower-casing.
    if (name.length === 10 || (dropEncoding && name.length === 17)) {
      const lower = name.toLowerCase();
      if (lower === 'connection' || lower === 'keep-alive' || (dropEncoding && lower === 'transfer-encoding')) continue;
      if (dropCookie !== undefined && lower === 'set-cookie' && (raw[index + 1] as string).trimStart().toLowerCase().startsWith(dropCookie)) continue;
    }
    res.appendHeader(name, raw[index + 1] as string);
  }
  for (const cookie of setCookies) res.appendHeader('set-cookie', cookie);
  res.setHeader('connection', res.shouldKeepAlive ? 'keep-alive' : 'close');
  const statusCode = proxyRes.statusCode ?? 502;
  if (proxyRes.statusMessage) res.writeHead(statusCode, proxyRes.statusMessage);
  else res.writeHead(statusCode);
}

/** The app's answer refuses the session it was given: a 401, or a redirect to one of its login pages. */
function refusesSession(proxyRes: IncomingMessage, loginPaths: ReadonlySet<string>): boolean {
  const status = proxyRes.statusCode ?? 0;
  if (status === 401) return true;
  if (status < 300 || status > 399 || loginPaths.size === 0) return false;
  const location = proxyRes.headers.location;
  if (location === undefined) return false;
  try {
    return loginPaths.has(new URL(location, 'http://app.invalid').pathname.toLowerCase());
  } catch {
    return false;
  }
}

function destroySocket(this: Duplex): void {
  this.destroy();
}

/** What http-proxy needs from the upstream URL: without `path` it would drop a path prefix such as `/jira`. */
function targetOf(url: URL): { protocol: string; host: string; hostname: string; port: string; path: string } {
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
  const path = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
  return { protocol: url.protocol, host: hostname, hostname, port, path };
}
