/**
 * Stopping the proxy (what SIGTERM does, through App.close): no new connections, requests and WebSockets in
 * flight finish within shutdownGraceSeconds, kept-alive connections are closed, and what is still open when the
 * grace period ends is closed.
 */
import { connect } from 'node:net';
import t from 'tap';
import WebSocket from 'ws';
import { waitForLogLine } from '../../support/log-lines.js';
import { loginAs } from '../../support/saml-login.js';
import { HOSTS, startStack, type Stack } from '../../support/stack.js';
import { startUpload } from '../../support/streaming-upload.js';

async function openWebSocket(stack: Stack, cookie: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${stack.proxyPort}/socket`, { headers: { host: HOSTS.echo, cookie } });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return ws;
}

function echoOf(ws: WebSocket, text: string): Promise<string> {
  const answer = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
  ws.send(text);
  return answer;
}

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

t.test('an upload and a WebSocket in flight finish after the stop began; new connections are refused', async (t) => {
  const stack = await startStack(t);
  const token = await loginAs(stack, stack.browser(), HOSTS.echo);
  const cookie = `crowd.token_key=${token}`;
  const ws = await openWebSocket(stack, cookie);
  const upload = startUpload(stack.proxyPort, HOSTS.echo, '/upload', { cookie });
  upload.send(64 * 1024);
  await stack.echo.waitForBodyBytes(64 * 1024);

  const stopped = stack.proxy.close();
  let stoppedYet = false;
  void stopped.then(() => {
    stoppedYet = true;
  });
  await waitForLogLine(stack.logs, (line) => String(line.msg).startsWith('stopping'), 'stopping line');
  t.ok(await refusesConnections(stack.proxyPort), 'no new connections');

  t.equal(await echoOf(ws, 'still here'), 'still here', 'the WebSocket still works while stopping');
  const answer = await upload.finish(64 * 1024);
  t.equal(answer.status, 200, 'the upload completes');
  t.equal((JSON.parse(answer.body) as { bodyBytes: number }).bodyBytes, 128 * 1024);
  t.equal(answer.headers.connection, 'close', 'the client is told to close the connection');
  t.notOk(stoppedYet, 'the stop waits for the open WebSocket');

  ws.close();
  await stopped;
  t.notOk(stack.logs.some((line) => line.cutConnections !== undefined), 'nothing had to be cut');
  t.ok(stack.logs.some((line) => line.msg === 'crowd-sso-proxy stopped'));
});

t.test('after shutdownGraceSeconds the connections still open are closed', async (t) => {
  const stack = await startStack(t, { config: { shutdownGraceSeconds: 1 } });
  const token = await loginAs(stack, stack.browser(), HOSTS.echo);
  const cookie = `crowd.token_key=${token}`;
  const ws = await openWebSocket(stack, cookie);
  const wsClosed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  const upload = startUpload(stack.proxyPort, HOSTS.echo, '/upload', { cookie });
  upload.send(1024);
  await stack.echo.waitForBodyBytes(1024);

  await stack.proxy.close();
  t.type(await wsClosed, 'number', 'the WebSocket was closed by the proxy');
  await t.rejects(upload.finish(1024), 'the unfinished upload was cut');
  const cut = await waitForLogLine(stack.logs, (line) => line.cutConnections !== undefined, 'cut line');
  t.ok((cut.cutConnections as number) >= 2, 'the log counts the connections closed');
  t.match(cut.msg, /shutdownGraceSeconds \(1 s\) over/);
});

t.test('idle kept-alive connections are closed at once, so the stop does not wait for them', async (t) => {
  const stack = await startStack(t, { config: { shutdownGraceSeconds: 30 } });
  const socket = connect(stack.proxyPort, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(`GET /_sso/health HTTP/1.1\r\nHost: ${HOSTS.jira}\r\nConnection: keep-alive\r\n\r\n`);
  await new Promise((resolve) => socket.once('data', resolve));
  await stack.proxy.close();
  await closed;
  t.notOk(stack.logs.some((line) => line.cutConnections !== undefined), 'closed as idle, not cut after the grace period');
});
