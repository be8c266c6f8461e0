/**
 * `serve` as a real process: SIGHUP reloads the configuration file; an invalid file is refused with one log line
 * per problem while the running configuration keeps serving; `watchConfig` reloads on a file change.
 */
import { join } from 'node:path';
import t from 'tap';
import { Browser } from '../../support/browser.js';
import { startListeningProxy, writeConfigFrom, type ProxyProcess } from '../../support/proxy-process.js';
import { HTML, loginAs } from '../../support/saml-login.js';
import { HOSTS, startStack, type Stack } from '../../support/stack.js';

const WIKI = 'wiki.sso.test';
const DOCS = 'docs.sso.test';

function addApp(stack: Stack, name: string, host: string): (raw: Record<string, unknown>) => void {
  return (raw) => {
    (raw.apps as object[]).push({ name, hosts: [host], upstream: stack.echo.url });
  };
}

/** Resolves with the next 'configuration reloaded' line after now. */
function nextReload(proxy: ProxyProcess): Promise<unknown> {
  return proxy.waitForLog((line) => line.msg === 'configuration reloaded', proxy.logs.length);
}

t.test('SIGHUP: an invalid file is refused and the old configuration serves; a valid one applies, watchConfig included', async (t) => {
  const stack = await startStack(t);
  const file = join(t.testdir(), 'proxy.config.json');
  writeConfigFrom(stack.configPath, file);
  const { proxy, port } = await startListeningProxy(['serve', '-c', file], t);
  const browser = new Browser((hostname) => (hostname.endsWith('.sso.test') ? port : undefined));
  await loginAs(stack, browser, HOSTS.echo);

  writeConfigFrom(stack.configPath, file, (raw) => {
    (raw.apps as { upstream: string }[])[0]!.upstream = 'not a url';
    (raw.crowd as { timeoutMs: number }).timeoutMs = 1;
    addApp(stack, 'wiki', WIKI)(raw);
  });
  const from = proxy.logs.length;
  proxy.kill('SIGHUP');
  for (const key of ['apps[0].upstream', 'crowd.timeoutMs']) {
    const line = await proxy.waitForLog((l) => l.code === 'ERR_CONFIG' && l.configKey === key, from);
    t.match(line.msg, `configuration not reloaded, the running configuration stays: ${key}: `, `one line for ${key}`);
  }
  t.equal((await browser.request(`http://${HOSTS.echo}/still`)).status, 200, 'the running configuration still serves');
  t.equal((await browser.request(`http://${WIKI}/`, { headers: HTML })).status, 421, 'nothing of the refused file applies');

  writeConfigFrom(stack.configPath, file, (raw) => {
    addApp(stack, 'wiki', WIKI)(raw);
    raw.watchConfig = true;
  });
  const reloaded = nextReload(proxy);
  proxy.kill('SIGHUP');
  await reloaded;
  t.equal((await browser.request(`http://${WIKI}/page`)).status, 200, 'the new host is served, with the session from before');

  await proxy.waitForLog((line) => line.msg === 'watching the configuration file: a change reloads it');
  const watched = nextReload(proxy);
  writeConfigFrom(stack.configPath, file, (raw) => {
    addApp(stack, 'wiki', WIKI)(raw);
    addApp(stack, 'docs', DOCS)(raw);
    raw.watchConfig = true;
  });
  await watched;
  t.ok(proxy.logs.some((line) => line.msg === 'reloading the configuration' && line.trigger === 'file change'));
  t.equal((await browser.request(`http://${DOCS}/page`)).status, 200, 'a saved change applies without a signal');

  proxy.kill('SIGTERM');
  t.equal((await proxy.exited).code, 0);
});
