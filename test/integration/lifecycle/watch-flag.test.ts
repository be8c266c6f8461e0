/** `serve --watch` as a real process: a saved change of the configuration file reloads it, without a signal. */
import { join } from 'node:path';
import t from 'tap';
import { Browser } from '../../support/browser.js';
import { startListeningProxy, writeConfigFrom } from '../../support/proxy-process.js';
import { HTML } from '../../support/saml-login.js';
import { startStack } from '../../support/stack.js';

const WIKI = 'wiki.sso.test';

t.test('--watch reloads on a file change whatever watchConfig says', async (t) => {
  const stack = await startStack(t);
  const file = join(t.testdir(), 'proxy.config.json');
  writeConfigFrom(stack.configPath, file);
  const { proxy, port } = await startListeningProxy(['serve', '-c', file, '--watch'], t);
  await proxy.waitForLog((line) => line.msg === 'watching the configuration file: a change reloads it');
  const reloaded = proxy.waitForLog((line) => line.msg === 'configuration reloaded', proxy.logs.length);
  writeConfigFrom(stack.configPath, file, (raw) => {
    (raw.apps as object[]).push({ name: 'wiki', hosts: [WIKI], upstream: stack.echo.url });
  });
  await reloaded;
  const browser = new Browser((hostname) => (hostname.endsWith('.sso.test') ? port : undefined));
  t.equal((await browser.request(`http://${WIKI}/`, { headers: HTML })).status, 200, 'the new host is served (the login-start page)');
  proxy.kill('SIGTERM');
  t.equal((await proxy.exited).code, 0);
});
