/**
 * WebSockets through the forwarder: messages round-trip with the same header hygiene, failures get a status, either
 * side ending ends the other.
 */
import type { IncomingMessage } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import t from 'tap';
import { UpstreamTimeoutError, UpstreamUnavailableError } from '../../../src/errors.js';
import { CLIENT_IP, JIRA_HOST, appFor, startFront, upstreamFor, closedPort, send, openWebSocket, startBareUpstream } from './forwarder-setup.js';

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
