/** `serve` as a real process: a second SIGTERM/SIGINT while stopping does not wait for the grace period. */
import { join } from 'node:path';
import t from 'tap';
import WebSocket from 'ws';
import { Browser } from '../../support/browser.js';
import { startListeningProxy, writeConfigFrom } from '../../support/proxy-process.js';
import { loginAs } from '../../support/saml-login.js';
import { HOSTS, startStack } from '../../support/stack.js';

t.test('a second signal while stopping exits at once', async (t) => {
  const stack = await startStack(t);
  const file = writeConfigFrom(stack.configPath, join(t.testdir(), 'proxy.config.json'), (raw) => {
    raw.shutdownGraceSeconds = 600;
  });
  const { proxy, port } = await startListeningProxy(['serve', '-c', file], t);
  const token = await loginAs(stack, new Browser((hostname) => (hostname.endsWith('.sso.test') ? port : undefined)), HOSTS.echo);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket`, { headers: { host: HOSTS.echo, cookie: `crowd.token_key=${token}` } });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  t.teardown(() => ws.terminate());
  proxy.kill('SIGTERM');
  await proxy.waitForLog((line) => String(line.msg).startsWith('stopping'));
  proxy.kill('SIGINT');
  const { code } = await proxy.exited;
  t.equal(code, 130, '128 + SIGINT, as shells report a process ended by it');
  t.ok(proxy.logs.some((line) => line.msg === 'second SIGINT: exiting now; connections still open are dropped'));
});
