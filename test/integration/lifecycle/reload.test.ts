/**
 * Reloading the configuration (what SIGHUP does, through App.reload): requests and WebSockets that started before
 * finish normally, new requests see the new configuration, keys only a restart applies are named in the log.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import t from 'tap';
import WebSocket from 'ws';
import { loadConfig } from '../../../src/config/load-config.js';
import type { RuntimeConfig } from '../../../src/config/runtime-config.js';
import { waitForLogLine } from '../../support/log-lines.js';
import { HTML, loginAs } from '../../support/saml-login.js';
import { HOSTS, startStack, type Stack } from '../../support/stack.js';
import { startUpload } from '../../support/streaming-upload.js';

const WIKI = 'wiki.sso.test';

/** The stack's configuration file with `change` applied, loaded as `serve` would load it. */
async function changedConfig(stack: Stack, change: (raw: Record<string, unknown>) => void): Promise<RuntimeConfig> {
  const raw = JSON.parse(readFileSync(stack.configPath, 'utf8')) as Record<string, unknown>;
  change(raw);
  writeFileSync(stack.configPath, JSON.stringify(raw, null, 2));
  return loadConfig(stack.configPath, { env: {} });
}

t.test('an upload and a WebSocket started before a reload complete after it; new requests see the new apps', async (t) => {
  const stack = await startStack(t);
  const browser = stack.browser();
  const token = await loginAs(stack, browser, HOSTS.echo);
  const cookie = `crowd.token_key=${token}`;
  const ws = new WebSocket(`ws://127.0.0.1:${stack.proxyPort}/socket`, { headers: { host: HOSTS.echo, cookie } });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const upload = startUpload(stack.proxyPort, HOSTS.echo, '/upload', { cookie });
  upload.send(32 * 1024);
  await stack.echo.waitForBodyBytes(32 * 1024);
  t.equal((await browser.request(`http://${WIKI}/`, { headers: HTML })).status, 421, 'wiki is not configured yet');

  await stack.proxy.reload(
    await changedConfig(stack, (raw) => {
      (raw.apps as object[]).push({ name: 'wiki', hosts: [WIKI], upstream: stack.echo.url });
    }),
  );

  const wiki = await browser.request(`http://${WIKI}/page`, { headers: HTML });
  t.equal(wiki.status, 200, 'the new app host is served, with the session from before the reload');
  t.equal((JSON.parse(wiki.body) as { url: string }).url, '/page');
  const echoed = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
  ws.send('after the reload');
  t.equal(await echoed, 'after the reload', 'the WebSocket opened before the reload still works');
  const answer = await upload.finish(32 * 1024);
  t.equal(answer.status, 200, 'the upload started before the reload completes');
  t.equal((JSON.parse(answer.body) as { bodyBytes: number }).bodyBytes, 64 * 1024);
  ws.close();
  t.ok(stack.logs.some((line) => line.msg === 'configuration reloaded'));
});

t.test('a change that needs a restart is named in the log and the rest is applied', async (t) => {
  const stack = await startStack(t);
  await stack.proxy.reload(
    await changedConfig(stack, (raw) => {
      raw.listen = { host: '127.0.0.1', port: 1 };
      raw.workers = 4;
      raw.logLevel = 'warn';
    }),
  );
  for (const key of ['listen.port', 'workers']) {
    const line = await waitForLogLine(stack.logs, (l) => l.configKey === key, `warning for ${key}`);
    t.match(line.msg, `${key} changed in the configuration file: it takes effect at the next restart`);
  }
  t.equal(stack.proxy.logger.level, 'warn', 'the log level is applied');
  const health = await stack.browser().request(`http://${HOSTS.jira}/_sso/health`);
  t.equal(health.status, 200, 'still listening on the port it started with');
});
