/** `serve` as a real process: SIGTERM lets an upload and a WebSocket in flight finish, then exits 0. */
import { join } from 'node:path';
import t from 'tap';
import WebSocket from 'ws';
import { Browser } from '../../support/browser.js';
import { startListeningProxy, writeConfigFrom } from '../../support/proxy-process.js';
import { loginAs } from '../../support/saml-login.js';
import { HOSTS, startStack } from '../../support/stack.js';
import { startUpload } from '../../support/streaming-upload.js';

async function openWebSocket(port: number, cookie: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket`, { headers: { host: HOSTS.echo, cookie } });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return ws;
}

t.test('SIGTERM: an upload and a WebSocket in flight finish, then the process exits 0', async (t) => {
  const stack = await startStack(t);
  const file = writeConfigFrom(stack.configPath, join(t.testdir(), 'proxy.config.json'));
  const { proxy, port } = await startListeningProxy(['serve', '-c', file], t);
  const token = await loginAs(stack, new Browser((hostname) => (hostname.endsWith('.sso.test') ? port : undefined)), HOSTS.echo);
  const cookie = `crowd.token_key=${token}`;
  const ws = await openWebSocket(port, cookie);
  const upload = startUpload(port, HOSTS.echo, '/upload', { cookie });
  upload.send(16 * 1024);
  await stack.echo.waitForBodyBytes(16 * 1024);

  proxy.kill('SIGTERM');
  await proxy.waitForLog((line) => String(line.msg).startsWith('stopping'));
  const echoed = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
  ws.send('while stopping');
  t.equal(await echoed, 'while stopping', 'the WebSocket works until its client closes it');
  const answer = await upload.finish(16 * 1024);
  t.equal(answer.status, 200, 'the upload completes');
  t.equal((JSON.parse(answer.body) as { bodyBytes: number }).bodyBytes, 32 * 1024);
  ws.close();
  const { code, stderr } = await proxy.exited;
  t.equal(code, 0);
  t.equal(stderr, '');
  t.ok(proxy.logs.some((line) => line.msg === 'crowd-sso-proxy stopped'));
  t.notOk(proxy.logs.some((line) => line.cutConnections !== undefined), 'nothing was cut');
});
