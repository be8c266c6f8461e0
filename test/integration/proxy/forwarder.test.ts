import { createHash } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import WebSocket, { WebSocketServer } from 'ws';
import type { AppConfig } from '../../../src/config/runtime-config.js';
import { UpstreamTimeoutError, UpstreamUnavailableError } from '../../../src/errors.js';
import { CLIENT_HEADERS_REMOVED, createForwarder, type ForwardContext, type UpstreamError } from '../../../src/proxy/forwarder.js';
import { testAppConfig } from '../../support/app-config.js';
import { startUpstream, type RecordedRequest, type Upstream } from '../../support/upstream-server.js';

const CLIENT_IP = '203.0.113.7';
const JIRA_HOST = 'jira.example.test:8443';
const MIB = 1024 * 1024;

function appFor(name: string, host: string, upstreamUrl: string, upstreamTimeoutMs = 30_000): AppConfig {
  return testAppConfig({ name, hosts: [host], upstream: new URL(upstreamUrl), upstreamTimeoutMs });
}

interface Reported {
  readonly error: UpstreamError;
  readonly headersSent: boolean;
}

interface Front {
  readonly port: number;
  readonly errors: Reported[];
  readonly upgradeErrors: UpstreamError[];
  /** What the next requests get as `ctx.cookieHeader`. */
  cookieHeader: string | undefined;
  closeForwarder(): Promise<void>;
}

/** A bare node:http front end that hands every request to the forwarder, the app chosen by Host. */
async function startFront(t: Test, apps: readonly AppConfig[]): Promise<Front> {
  let requestCount = 0;
  const front: Front = { port: 0, errors: [], upgradeErrors: [], cookieHeader: undefined, closeForwarder: () => forwarder.close() };
  const forwarder = createForwarder(apps, {
    onUpstreamError(error, _req, res) {
      front.errors.push({ error, headersSent: res.headersSent });
      if (res.headersSent) return;
      res.writeHead(error.status, { 'content-type': 'text/plain' });
      res.end(error.code);
    },
    onUpgradeError(error) {
      front.upgradeErrors.push(error);
    },
  });
  const contextFor = (req: IncomingMessage): ForwardContext => {
    const host = req.headers.host ?? '';
    requestCount += 1;
    return {
      app: apps.find((app) => app.hosts.includes(host)) ?? (apps[0] as AppConfig),
      clientIp: CLIENT_IP,
      proto: 'https',
      host,
      requestId: `req-${requestCount}`,
      cookieHeader: front.cookieHeader,
    };
  };
  const server = createServer((req, res) => forwarder.forward(req, res, contextFor(req)));
  server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => forwarder.forwardUpgrade(req, socket, head, contextFor(req)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    await forwarder.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return Object.assign(front, { port: (server.address() as AddressInfo).port });
}

async function upstreamFor(t: Test): Promise<Upstream> {
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  return upstream;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

function send(port: number, path: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: { host: JIRA_HOST, ...options.headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

function echoed(reply: Reply): RecordedRequest {
  return JSON.parse(reply.body.toString('utf8')) as RecordedRequest;
}

t.test('the request reaches the app with its Host, path and query, and with only the proxy forwarding headers', async (t) => {
  const upstream = await upstreamFor(t);
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url)]);
  const spoofed = Object.fromEntries(CLIENT_HEADERS_REMOVED.map((name) => [name, 'spoofed']));
  const reply = await send(front.port, '/secure/Dashboard.jspa?selectPageId=1', { headers: { ...spoofed, 'x-request-id': 'spoofed', 'user-agent': 'tap' } });

  t.equal(reply.status, 200);
  const seen = echoed(reply);
  t.equal(seen.url, '/secure/Dashboard.jspa?selectPageId=1');
  t.equal(seen.headers.host, JIRA_HOST, 'Host is preserved');
  t.equal(seen.headers['x-forwarded-for'], CLIENT_IP, 'a single X-Forwarded-For entry: the resolved client');
  t.equal(seen.headers['x-forwarded-proto'], 'https');
  t.equal(seen.headers['x-forwarded-host'], JIRA_HOST);
  t.match(seen.headers['x-request-id'], /^req-\d+$/);
  t.equal(seen.headers['user-agent'], 'tap', 'ordinary headers pass');
  const ours = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);
  for (const name of CLIENT_HEADERS_REMOVED.filter((header) => !ours.has(header))) {
    t.equal(seen.headers[name], undefined, `client-supplied ${name} is dropped`);
  }
});

t.test('upstream paths are prefixed with the path of apps[].upstream', async (t) => {
  const upstream = await upstreamFor(t);
  const front = await startFront(t, [appFor('jira', JIRA_HOST, `${upstream.url}/jira/`)]);
  t.equal(echoed(await send(front.port, '/browse/ABC-1?x=%20y')).url, '/jira/browse/ABC-1?x=%20y');
});

t.test('hop-by-hop headers and headers named in Connection do not reach the app', async (t) => {
  const upstream = await upstreamFor(t);
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url)]);
  const seen = echoed(
    await send(front.port, '/', {
      headers: {
        connection: 'keep-alive, X-Hop, X-Forwarded-For',
        'x-hop': 'secret',
        'keep-alive': 'timeout=5',
        upgrade: 'h2c',
        'proxy-authorization': 'Basic dXNlcjpwYXNz',
        te: 'trailers',
      },
    }),
  );
  for (const name of ['x-hop', 'keep-alive', 'upgrade', 'proxy-authorization', 'te']) t.equal(seen.headers[name], undefined, `${name} is dropped`);
  t.not(seen.headers.connection, 'keep-alive, X-Hop, X-Forwarded-For');
  t.equal(seen.headers['x-forwarded-for'], CLIENT_IP, 'a header named in Connection is still set by the proxy');
});

t.test('the Cookie header is replaced when the context says so, and untouched otherwise', async (t) => {
  const upstream = await upstreamFor(t);
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url)]);
  const original = 'crowd.token_key=stale; JSESSIONID=abc';

  front.cookieHeader = undefined;
  t.equal(echoed(await send(front.port, '/', { headers: { cookie: original } })).headers.cookie, original, 'undefined: untouched');

  front.cookieHeader = 'crowd.token_key=fresh; JSESSIONID=abc';
  t.equal(echoed(await send(front.port, '/', { headers: { cookie: original } })).headers.cookie, 'crowd.token_key=fresh; JSESSIONID=abc', 'a string replaces it');
  t.equal(echoed(await send(front.port, '/')).headers.cookie, 'crowd.token_key=fresh; JSESSIONID=abc', 'also when the client sent none');

  front.cookieHeader = '';
  t.equal(echoed(await send(front.port, '/', { headers: { cookie: original } })).headers.cookie, undefined, 'empty string: no Cookie header');
});

t.test('a 50 MB upload streams through: the app gets the first bytes before the client has sent the rest', { timeout: 60_000 }, async (t) => {
  const upstream = await upstreamFor(t);
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url)]);
  const totalBytes = 50 * MIB;
  const chunk = Buffer.alloc(MIB, 0x5a);
  const digest = createHash('sha256');

  const reply = new Promise<Reply>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: front.port, path: '/upload', method: 'POST', headers: { host: JIRA_HOST, 'content-length': totalBytes }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (data: Buffer) => chunks.push(data));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    const write = async (): Promise<void> => {
      req.write(chunk);
      digest.update(chunk);
      // A proxy that buffered the body would never let these bytes through before the end: the test would hang.
      await upstream.waitForBodyBytes(1);
      for (let sent = MIB; sent < totalBytes; sent += MIB) {
        digest.update(chunk);
        if (!req.write(chunk)) await new Promise((resolve) => req.once('drain', resolve));
      }
      req.end();
    };
    write().catch(reject);
  });

  const seen = echoed(await reply);
  t.equal(seen.bodyBytes, totalBytes);
  t.equal(seen.bodySha256, digest.digest('hex'), 'the body arrives unchanged');
  t.equal(front.errors.length, 0);
});

t.test('a 50 MB download streams through unchanged', { timeout: 60_000 }, async (t) => {
  const upstream = await upstreamFor(t);
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url)]);
  const totalBytes = 50 * MIB;
  const result = await new Promise<{ bytes: number; sha256: string; expected: unknown }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: front.port, path: `/download?bytes=${totalBytes}`, headers: { host: JIRA_HOST }, agent: false }, (res) => {
      const digest = createHash('sha256');
      let bytes = 0;
      res.on('data', (data: Buffer) => {
        bytes += data.length;
        digest.update(data);
      });
      res.on('end', () => resolve({ bytes, sha256: digest.digest('hex'), expected: res.headers['x-body-sha256'] }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  t.equal(result.bytes, totalBytes);
  t.equal(result.sha256, result.expected);
});

t.test('an upstream that is down is reported as UpstreamUnavailableError, and the proxy keeps serving', async (t) => {
  const upstream = await upstreamFor(t);
  const downUrl = `http://127.0.0.1:${await closedPort()}`;
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url), appFor('confluence', 'wiki.example.test', downUrl)]);

  const failed = await send(front.port, '/', { headers: { host: 'wiki.example.test' } });
  t.equal(failed.status, 502);
  t.equal(front.errors.length, 1, 'reported exactly once');
  const { error, headersSent } = front.errors[0] as Reported;
  t.ok(error instanceof UpstreamUnavailableError);
  t.equal(error.detail, 'ECONNREFUSED');
  t.match(error.message, 'App "confluence"');
  t.match(error.message, downUrl);
  t.match(error.message, 'apps[].upstream');
  t.equal(headersSent, false);

  t.equal((await send(front.port, '/')).status, 200, 'a working upstream still answers');
  t.equal((await send(front.port, '/', { headers: { host: 'wiki.example.test' } })).status, 502, 'and the down one is tried again');
  t.equal(front.errors.length, 2);
});

t.test('an upstream slower than upstreamTimeoutMs is reported as UpstreamTimeoutError', async (t) => {
  const upstream = await upstreamFor(t);
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url, 200)]);
  const reply = await send(front.port, '/slow?ms=20000');
  t.equal(reply.status, 504);
  t.equal(front.errors.length, 1);
  const { error } = front.errors[0] as Reported;
  t.ok(error instanceof UpstreamTimeoutError);
  t.match(error.message, 'apps[].upstreamTimeoutSeconds');
  t.match(error.message, 'App "jira"');
  t.equal((await send(front.port, '/slow?ms=0')).status, 200, 'the next request is served');
});

t.test('an upstream that resets the connection before answering is reported once', async (t) => {
  const upstream = await upstreamFor(t);
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url)]);
  t.equal((await send(front.port, '/reset')).status, 502);
  t.equal(front.errors.length, 1);
  t.ok(front.errors[0]?.error instanceof UpstreamUnavailableError);
  t.equal(front.errors[0]?.error.detail, 'ECONNRESET');
  t.equal((await send(front.port, '/')).status, 200);
});

t.test('an upstream that dies in the middle of its response: the client response is destroyed, the failure reported once', async (t) => {
  const upstream = await upstreamFor(t);
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url)]);
  const outcome = await new Promise<{ status: number; completed: boolean }>((resolve) => {
    const req = request({ host: '127.0.0.1', port: front.port, path: '/reset-mid-body', headers: { host: JIRA_HOST }, agent: false }, (res) => {
      res.resume();
      res.on('close', () => resolve({ status: res.statusCode ?? 0, completed: res.complete }));
    });
    req.on('error', () => resolve({ status: 0, completed: false }));
    req.end();
  });
  t.same(outcome, { status: 200, completed: false }, 'headers arrived, the body did not complete');
  t.equal(front.errors.length, 1);
  t.equal(front.errors[0]?.headersSent, true);
  t.equal(front.errors[0]?.error.detail, 'response_truncated');
  t.equal((await send(front.port, '/')).status, 200);
});

/** One request over a raw socket; the whole response as text once the proxy closes the connection. */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (data: Buffer) => chunks.push(data));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
  });
}

t.test('a chunked DELETE body is forwarded as a body, never as a second request', async (t) => {
  const upstream = await upstreamFor(t);
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url)]);
  const smuggled = `GET /smuggled HTTP/1.1\r\nHost: ${JIRA_HOST}\r\nX-Remote-User: admin\r\n\r\n`;
  const raw =
    `DELETE /rest/api/2/issue/ABC-1 HTTP/1.1\r\nHost: ${JIRA_HOST}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
    `${Buffer.byteLength(smuggled).toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`;
  const response = await rawExchange(front.port, raw);
  t.match(response, /^HTTP\/1\.1 200/);
  t.match(response, /\r\nconnection: close\r\n/i, "the client's Connection: close is honoured");
  t.same(
    upstream.requests.map((seen) => [seen.method, seen.url, seen.bodyBytes]),
    [['DELETE', '/rest/api/2/issue/ABC-1', Buffer.byteLength(smuggled)]],
  );
});

/** An upstream that answers every request with `head` and `body` exactly as given (raw bytes on the socket). */
async function rawUpstream(t: Test, head: string, body: string): Promise<string> {
  const server = createTcpServer((socket: Socket) => {
    let seen = '';
    socket.on('data', (data: Buffer) => {
      seen += data.toString('latin1');
      if (!seen.includes('\r\n\r\n')) return;
      seen = '';
      socket.write(head + body);
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

t.test('the response head reaches the client as the app sent it, but for its own Connection and Keep-Alive', async (t) => {
  const head =
    'HTTP/1.1 299 Custom Reason\r\nX-Custom-Case: kept\r\nWWW-Authenticate: Negotiate\r\nWWW-Authenticate: Basic realm="jira"\r\n' +
    'Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\n';
  const front = await startFront(t, [appFor('jira', JIRA_HOST, await rawUpstream(t, head, 'ok'))]);
  const response = await rawExchange(front.port, `GET / HTTP/1.1\r\nHost: ${JIRA_HOST}\r\nConnection: close\r\n\r\n`);
  const [statusLine, ...lines] = (response.split('\r\n\r\n')[0] as string).split('\r\n');
  t.equal(statusLine, 'HTTP/1.1 299 Custom Reason', 'status code and reason phrase');
  t.ok(lines.includes('X-Custom-Case: kept'), 'header names keep their case');
  t.same(lines.filter((line) => line.startsWith('WWW-Authenticate:')), ['WWW-Authenticate: Negotiate', 'WWW-Authenticate: Basic realm="jira"'], 'a repeated header stays two lines, in order (joined with a comma, the challenges would no longer parse)');
  t.same(lines.filter((line) => line.startsWith('Set-Cookie:')), ['Set-Cookie: a=1', 'Set-Cookie: b=2']);
  t.same(lines.filter((line) => /^(connection|keep-alive):/i.test(line)), ['connection: close'], "the client asked to close: the app's keep-alive is not passed on");
  t.match(response, /\r\n\r\nok$/);
});

t.test('a request body is streamed whatever the method; a request without one is sent without', async (t) => {
  const upstream = await upstreamFor(t);
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url)]);
  const withBody = echoed(await send(front.port, '/search', { method: 'GET', headers: { 'content-type': 'application/json', 'content-length': '23' }, body: Buffer.from('{"jql":"project = ABC"}') }));
  t.equal(withBody.bodyBytes, 23, 'a GET with Content-Length keeps its body');
  const without = echoed(await send(front.port, '/'));
  t.equal(without.bodyBytes, 0);
  t.equal(without.headers['content-length'], undefined, 'no framing header is invented for a request without a body');
  t.equal(without.headers['transfer-encoding'], undefined);
});

t.test('an HTTP/1.0 client gets a chunked answer unchunked, framed by the end of the connection', async (t) => {
  const head = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n';
  const front = await startFront(t, [appFor('jira', JIRA_HOST, await rawUpstream(t, head, '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'))]);
  const response = await rawExchange(front.port, `GET / HTTP/1.0\r\nHost: ${JIRA_HOST}\r\n\r\n`);
  t.notMatch(response, /transfer-encoding/i);
  t.match(response, /\r\n\r\nhello world$/);
});

t.test('a response head that Node parses but cannot send on (status 099) gets a 502, not a crash', async (t) => {
  const head = 'HTTP/1.1 099 Odd\r\nContent-Length: 2\r\n\r\n';
  const front = await startFront(t, [appFor('jira', JIRA_HOST, await rawUpstream(t, head, 'ok'))]);
  t.equal((await send(front.port, '/')).status, 502);
  t.equal(front.errors.length, 1);
  t.equal(front.errors[0]?.error.detail, 'invalid_response');
  t.match(front.errors[0]?.error.message, /cannot be passed on to the client/);
  t.equal((await send(front.port, '/')).status, 502, 'the proxy keeps serving');
});

function openWebSocket(port: number, headers: Record<string, string> = {}): WebSocket {
  return new WebSocket(`ws://127.0.0.1:${port}/plugins/servlet/socket`, { headers: { host: JIRA_HOST, ...headers } });
}

t.test('WebSocket messages round-trip through the proxy, with the same header hygiene', async (t) => {
  const upstream = await upstreamFor(t);
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url)]);
  front.cookieHeader = 'crowd.token_key=fresh';
  const socket = openWebSocket(front.port, { 'x-forwarded-for': '10.9.9.9', 'x-remote-user': 'admin', cookie: 'crowd.token_key=stale' });
  t.teardown(() => socket.terminate());
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });

  const replies: { data: string; isBinary: boolean }[] = [];
  const received = new Promise<void>((resolve) => {
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      replies.push({ data: isBinary ? data.toString('hex') : data.toString('utf8'), isBinary });
      if (replies.length === 2) resolve();
    });
  });
  socket.send('hello through the proxy');
  socket.send(Buffer.from([0, 1, 2, 255]), { binary: true });
  await received;
  t.same(replies, [
    { data: 'hello through the proxy', isBinary: false },
    { data: '000102ff', isBinary: true },
  ]);

  const handshake = upstream.requests.find((seen) => seen.url === '/plugins/servlet/socket');
  t.equal(handshake?.headers.host, JIRA_HOST);
  t.equal(handshake?.headers['x-forwarded-for'], CLIENT_IP);
  t.equal(handshake?.headers['x-forwarded-proto'], 'https');
  t.equal(handshake?.headers['x-remote-user'], undefined);
  t.equal(handshake?.headers.cookie, 'crowd.token_key=fresh');
  t.equal(front.upgradeErrors.length, 0);
});

t.test('a WebSocket to an upstream that is down gets a 502, and the proxy keeps serving', async (t) => {
  const upstream = await upstreamFor(t);
  const downUrl = `http://127.0.0.1:${await closedPort()}`;
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url), appFor('confluence', 'wiki.example.test', downUrl)]);
  const socket = openWebSocket(front.port, { host: 'wiki.example.test' });
  const status = await new Promise<number>((resolve) => {
    socket.once('unexpected-response', (_req, res: IncomingMessage) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    socket.once('error', () => resolve(-1));
  });
  socket.terminate();
  t.equal(status, 502);
  t.equal(front.upgradeErrors.length, 1);
  t.ok(front.upgradeErrors[0] instanceof UpstreamUnavailableError);
  t.equal((await send(front.port, '/')).status, 200);
});

t.test('closing the forwarder ends open WebSocket tunnels', async (t) => {
  const upstream = await upstreamFor(t);
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url)]);
  const socket = openWebSocket(front.port);
  t.teardown(() => socket.terminate());
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const closed = new Promise<number>((resolve) => socket.once('close', (code: number) => resolve(code)));
  await front.closeForwarder();
  t.equal(await closed, 1006, 'the client sees the tunnel end');
});

/** A hand-made upstream, for tests that must watch the upstream side of a connection end. */
async function startBareUpstream(t: Test, onRequest: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; webSockets: WebSocketServer }> {
  const server = createServer(onRequest);
  const webSockets = new WebSocketServer({ server });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const client of webSockets.clients) client.terminate();
    await new Promise<void>((resolve) => webSockets.close(() => resolve()));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, webSockets };
}

t.test('a client that leaves in the middle of a download releases the upstream connection, and nothing is reported', async (t) => {
  let upstreamClosed!: () => void;
  const released = new Promise<void>((resolve) => (upstreamClosed = resolve));
  const upstream = await startBareUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-length': 1024 * MIB });
    const chunk = Buffer.alloc(64 * 1024, 1);
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
    res.on('close', upstreamClosed);
  });
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url)]);
  const req = request({ host: '127.0.0.1', port: front.port, path: '/big', headers: { host: JIRA_HOST }, agent: false }, (res) => {
    res.once('data', () => req.destroy());
  });
  req.on('error', () => undefined);
  req.end();
  await released;
  t.pass('the upstream response was closed (no need to wait for the upstream timeout)');
  t.equal(front.errors.length, 0, 'a client leaving is not an upstream failure');
});

t.test('a client that drops its WebSocket closes the upstream one', async (t) => {
  const upstream = await startBareUpstream(t, (_req, res) => res.end());
  const upstreamClosed = new Promise<void>((resolve) => upstream.webSockets.on('connection', (socket) => socket.on('close', () => resolve())));
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url)]);
  const socket = openWebSocket(front.port);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  socket.terminate();
  await upstreamClosed;
  t.pass('the upstream WebSocket ended');
  t.equal(front.upgradeErrors.length, 0);
});

t.test('a WebSocket handshake the upstream never answers gets a 504', async (t) => {
  const silent = createTcpServer((socket: Socket) => socket.resume());
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => silent.close(() => resolve())));
  const front = await startFront(t, [appFor('jira', JIRA_HOST, `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, 200)]);
  const socket = openWebSocket(front.port);
  const status = await new Promise<number>((resolve) => {
    socket.once('unexpected-response', (_req, res: IncomingMessage) => resolve(res.statusCode ?? 0));
    socket.once('error', () => resolve(-1));
  });
  socket.terminate();
  t.equal(status, 504);
  t.equal(front.upgradeErrors.length, 1);
  t.ok(front.upgradeErrors[0] instanceof UpstreamTimeoutError);
});
