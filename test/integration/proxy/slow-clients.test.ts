/**
 * Clients that hold connections open: a body that never comes to the ACS or SLO endpoint (saml.bodyTimeoutSeconds),
 * headers sent byte by byte (listen.headersTimeoutSeconds), and more connections than listen.maxConnections. Each is
 * cut in bounded time with an answer where one can be given, while slow uploads to an app and idle WebSockets, which
 * take longer than any of these limits, keep working.
 */
import { connect, type Socket } from 'node:net';
import t from 'tap';
import WebSocket from 'ws';
import { HOSTS, startStack } from '../../support/stack.js';
import { loginAs } from '../../support/saml-login.js';
import { startUpload } from '../../support/streaming-upload.js';

const LIMITS = { listen: { host: '127.0.0.1', port: 0, headersTimeoutSeconds: 1 }, saml: { bodyTimeoutSeconds: 1 } };

interface Exchange {
  /** Everything the proxy sent. */
  readonly answer: string;
  /** Milliseconds from the connect until the proxy closed the connection. */
  readonly closedAfterMs: number;
}

/** Opens a raw connection, writes `head`, then `trickle` one byte every `everyMs` until the proxy closes it. */
function holdOpen(port: number, head: string, trickle: { readonly everyMs: number } | undefined = undefined): Promise<Exchange> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    let ticker: NodeJS.Timeout | undefined;
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(ticker);
      resolve({ answer, closedAfterMs: Date.now() - started });
    });
    // A bound for the test itself: a proxy that never closes fails the assertion on closedAfterMs.
    socket.setTimeout(20_000, () => socket.destroy());
    socket.write(head);
    if (trickle !== undefined) ticker = setInterval(() => socket.writable && socket.write('a'), trickle.everyMs);
  });
}

const formPost = (path: string, contentLength: string): string =>
  `POST ${path} HTTP/1.1\r\nHost: ${HOSTS.jira}\r\nContent-Type: application/x-www-form-urlencoded\r\n${contentLength}\r\n\r\n`;

t.test('a post to the ACS or SLO endpoint whose body does not come in time gets 408 and its connection is closed', async (t) => {
  const stack = await startStack(t, { config: LIMITS });
  const cases = [
    { name: 'ACS, Content-Length 5000 and no body', head: formPost('/_sso/saml/acs', 'Content-Length: 5000'), trickle: undefined },
    { name: 'ACS, one byte every 300 ms', head: formPost('/_sso/saml/acs', 'Content-Length: 5000'), trickle: { everyMs: 300 } },
    { name: 'ACS, chunked, one byte every 300 ms', head: `${formPost('/_sso/saml/acs', 'Transfer-Encoding: chunked')}1000\r\n`, trickle: { everyMs: 300 } },
    { name: 'SLO, Content-Length 5000 and no body', head: formPost('/_sso/saml/slo', 'Content-Length: 5000'), trickle: undefined },
  ];
  const exchanges = await Promise.all(cases.map((c) => holdOpen(stack.proxyPort, c.head, c.trickle)));
  cases.forEach((c, i) => {
    const exchange = exchanges[i] as Exchange;
    t.match(exchange.answer, /^HTTP\/1\.1 408 /, `${c.name}: 408`);
    // 1 s body deadline, then at most 5 s of lingering close.
    t.ok(exchange.closedAfterMs < 8_000, `${c.name}: closed after ${exchange.closedAfterMs} ms`);
  });
  const timeouts = stack.logs.filter((line) => line.code === 'ERR_REQUEST_TIMEOUT' && line.status === 408);
  t.equal(timeouts.length, cases.length, 'each is logged');
  t.match(timeouts[0]?.msg, /saml\.bodyTimeoutSeconds/, 'the log line names the key');

  const health = await stack.browser().request(`http://${HOSTS.jira}/_sso/health`);
  t.equal(health.status, 200, 'the proxy keeps serving');
});

t.test('headers sent byte by byte are cut after listen.headersTimeoutSeconds', async (t) => {
  const stack = await startStack(t, { config: LIMITS });
  const exchange = await holdOpen(stack.proxyPort, `GET /_sso/health HTTP/1.1\r\nHost: ${HOSTS.jira}\r\nX-Slow: `, { everyMs: 200 });
  t.match(exchange.answer, /^HTTP\/1\.1 408 /, 'answered 408');
  t.ok(exchange.closedAfterMs < 4_000, `closed after ${exchange.closedAfterMs} ms`);
});

t.test('over listen.maxConnections new connections are closed at once, logged and counted; the rest keeps working', async (t) => {
  const stack = await startStack(t, { config: { listen: { host: '127.0.0.1', port: 0, maxConnections: 16 }, admin: { host: '127.0.0.1', port: 0 } } });
  const held: Socket[] = [];
  t.teardown(() => held.forEach((socket) => socket.destroy()));
  for (let i = 0; i < 16; i++) {
    const socket = connect(stack.proxyPort, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    held.push(socket);
  }
  // Give the proxy the moment to accept them all before the next one arrives.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const refused = await holdOpen(stack.proxyPort, `GET /_sso/health HTTP/1.1\r\nHost: ${HOSTS.jira}\r\n\r\n`);
  t.equal(refused.answer, '', 'the 17th connection is closed without an answer');
  const warning = stack.logs.find((line) => line.reason === 'connection_cap');
  t.match(warning, { level: 40, maxConnections: 16, listener: 'main' }, 'a warning names the limit');
  t.match(warning?.msg, /listen\.maxConnections/);

  const metrics = await fetch(`http://127.0.0.1:${stack.proxy.adminAddress()?.port ?? 0}/metrics`).then((res) => res.text());
  t.match(metrics, /^crowd_sso_proxy_connections_refused_total [1-9]/m, 'counted in the metrics');

  held.pop()?.destroy();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const health = await stack.browser().request(`http://${HOSTS.jira}/_sso/health`);
  t.equal(health.status, 200, 'with one connection closed, a new one is served');
});

t.test('a slow upload to an app and an idle WebSocket outlast every one of these limits', async (t) => {
  const stack = await startStack(t, { config: LIMITS });
  const token = await loginAs(stack, stack.browser(), HOSTS.echo);
  const cookie = `crowd.token_key=${token}`;

  const upload = startUpload(stack.proxyPort, HOSTS.echo, '/upload', { cookie, 'content-length': String(6 * 64 * 1024) });
  for (let i = 0; i < 5; i++) {
    upload.send(64 * 1024);
    await new Promise((resolve) => setTimeout(resolve, 600));
  }
  const answer = await upload.finish(64 * 1024);
  t.equal(answer.status, 200, 'a 3 s upload (body deadline 1 s, header deadline 1 s) reached the app');
  t.equal(stack.echo.requests.find((r) => r.url === '/upload')?.bodyBytes, 6 * 64 * 1024, 'the app received every byte');

  const ws = await new Promise<WebSocket>((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${stack.proxyPort}/socket`, { headers: { host: HOSTS.echo, cookie } });
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
  t.teardown(() => ws.terminate());
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  const echoed = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
  ws.send('still here');
  t.equal(await echoed, 'still here', 'a WebSocket idle for 2.5 s still works');
});
