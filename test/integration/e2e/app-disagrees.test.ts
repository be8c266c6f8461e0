/**
 * When the app disagrees with the proxy about a session: the proxy forwarded a token it holds valid (cached), and
 * the app sends the user to its own login page (or answers 401). Crowd is asked again, past the cache: an ended
 * token signs in again, Crowd down is the bounded 503, a token Crowd holds valid gets a clear page, a warning, a
 * metric, and no loop. With apps[].crowdApplication the proxy validates as the app does and says "no access" first.
 */
import t from 'tap';
import { loginStartLink } from '../../support/browser.js';
import { runCheck } from '../../../src/cli/check/run-check.js';
import { HTML, loginAs } from '../../support/saml-login.js';
import { HOSTS, startStack } from '../../support/stack.js';

const JSON_ACCEPT = { accept: 'application/json' };
const PRESETS = { jira: { preset: 'jira' }, confluence: { preset: 'confluence' } } as const;
const proxyValidations = (calls: readonly { method: string; path: string; application: string | undefined }[]): number =>
  calls.filter((call) => call.method === 'POST' && call.path.startsWith('/session/') && call.application === 'crowd-sso-proxy').length;

t.test('a session Crowd holds valid that the app refuses: a clear page, a warning naming the factors, a metric, never a loop', async (t) => {
  const stack = await startStack(t, { apps: PRESETS, appsRedirectToLogin: true, config: { admin: { host: '127.0.0.1', port: 0 } } });
  const browser = stack.browser();
  await loginAs(stack, browser, HOSTS.jira);
  t.equal((await browser.request(`http://${HOSTS.jira}/browse/DEMO-1`, { headers: HTML })).status, 200, 'signed in, the app accepts the session');

  // Crowd now refuses the user to the app's own application (e.g. its allowed groups), not to the proxy's.
  (stack.crowd.applications.get('jira') as { allowedGroups: string[] | undefined }).allowedGroups = ['jira-users'];
  const page = await browser.request(`http://${HOSTS.jira}/browse/DEMO-1`, { headers: HTML });
  t.equal(page.status, 502, 'not the app login redirect');
  t.notOk(page.headers.location, 'no redirect at all');
  t.match(page.body, /The application did not accept your session/);
  const warning = stack.logs.find((line) => line.reason === 'app_refused_session');
  t.match(warning, { level: 40, app: 'jira', user: 'alice' }, 'a warning');
  t.match(warning?.msg, /crowd\.validationFactors/, 'naming the factors key');
  t.match(warning?.msg, /remote_address=127\.0\.0\.1/, 'and the factors sent');
  t.match(warning?.msg, /apps\[\]\.crowdApplication/, 'and the per-app check');

  const validations = proxyValidations(stack.crowd.calls);
  const again = await browser.request(`http://${HOSTS.jira}/browse/DEMO-2`, { headers: HTML });
  t.equal(again.status, 502, 'the same answer on the next page');
  t.equal(proxyValidations(stack.crowd.calls), validations, 'without asking Crowd again (no loop, no call per click)');
  const xhr = await browser.request(`http://${HOSTS.jira}/rest/api/whoami`, { headers: JSON_ACCEPT });
  t.equal(xhr.status, 502, "the app's 401 on an API call too");
  t.match(JSON.parse(xhr.body), { error: 'ERR_APP_REFUSED_SESSION' });

  const metrics = await fetch(`http://127.0.0.1:${stack.proxy.adminAddress()?.port ?? 0}/metrics`).then((res) => res.text());
  t.match(metrics, /^crowd_sso_proxy_app_session_refusals_total\{app="jira"\} 1$/m, 'counted once per token and minute');
});

t.test('a token ended elsewhere while the proxy still had it cached: forgotten, and the browser signs in again', async (t) => {
  const stack = await startStack(t, { apps: PRESETS, appsRedirectToLogin: true, config: { crowd: { cacheTtlSeconds: 600 } } });
  const browser = stack.browser();
  await loginAs(stack, browser, HOSTS.jira);
  t.equal((await browser.request(`http://${HOSTS.jira}/browse/DEMO-1`, { headers: HTML })).status, 200);
  stack.crowd.invalidateAllSessions();

  const page = await browser.request(`http://${HOSTS.jira}/browse/DEMO-2?x=1`, { headers: HTML });
  t.equal(page.status, 200, 'the login-start page, not the app login form');
  t.equal(loginStartLink(page.body), `/_sso/login?return=${encodeURIComponent(`http://${HOSTS.jira}/browse/DEMO-2?x=1`)}`, 'returning to the page asked for');
  t.ok(stack.logs.some((line) => line.reason === 'session_ended' && line.app === 'jira'), 'logged');
  const xhr = await browser.request(`http://${HOSTS.jira}/rest/api/whoami`, { headers: JSON_ACCEPT });
  t.equal(xhr.status, 401, 'the cached answer is gone: the proxy itself now refuses the token');
  t.match(JSON.parse(xhr.body), { error: 'ERR_UNAUTHENTICATED' });
});

t.test('Crowd unreachable when the app refuses a cached session: the bounded 503', async (t) => {
  const stack = await startStack(t, { apps: PRESETS, appsRedirectToLogin: true, config: { crowd: { cacheTtlSeconds: 600, timeoutMs: 500 } } });
  const browser = stack.browser();
  await loginAs(stack, browser, HOSTS.jira);
  t.equal((await browser.request(`http://${HOSTS.jira}/browse/DEMO-1`, { headers: HTML })).status, 200);
  await stack.crowd.close();
  const page = await browser.request(`http://${HOSTS.jira}/browse/DEMO-1`, { headers: HTML });
  t.equal(page.status, 503);
  t.match(page.body, /Please try again later/);
});

t.test('apps[].crowdApplication: the proxy validates as the app does and says "no access" instead of forwarding', async (t) => {
  const stack = await startStack(t, {
    apps: { ...PRESETS, jira: { preset: 'jira', crowdApplication: { name: 'jira', password: 'jira-pw' } } },
    appsRedirectToLogin: true,
    config: { admin: { host: '127.0.0.1', port: 0 } },
  });
  (stack.crowd.applications.get('jira') as { allowedGroups: string[] | undefined }).allowedGroups = ['jira-users'];
  const browser = stack.browser();
  await loginAs(stack, browser, HOSTS.confluence);
  const page = await browser.request(`http://${HOSTS.jira}/browse/DEMO-1`, { headers: HTML });
  t.equal(page.status, 403);
  t.match(page.body, '<h1>Access denied</h1>');
  t.match(page.body, 'your account may not use jira');
  t.match(page.body, 'Sign in as someone else', 'with the way out of a dead end');
  const denial = stack.logs.find((line) => line.detail === 'APPLICATION_ACCESS_DENIED');
  t.match(denial?.msg, /Applications → jira/, 'the log names the Crowd application to fix');
  const asJira = (): number => stack.crowd.calls.filter((call) => call.application === 'jira' && call.path.startsWith('/session/')).length;
  const before = asJira();
  t.equal((await browser.request(`http://${HOSTS.jira}/browse/DEMO-2`, { headers: HTML })).status, 403);
  t.equal(asJira(), before, 'the denial is cached: no Crowd call per click, and the app never saw the request');

  (stack.crowd.applications.get('jira') as { allowedGroups: string[] | undefined }).allowedGroups = undefined;
  const confluence = await browser.request(`http://${HOSTS.confluence}/display/X`, { headers: HTML });
  t.equal(confluence.status, 200, 'other apps are not affected');
});

t.test('check verifies each apps[].crowdApplication', async (t) => {
  const stack = await startStack(t, { apps: { jira: { preset: 'jira', crowdApplication: { name: 'jira', password: 'wrong-password' } } } });
  const report = await runCheck(stack.config);
  t.match(report.items.find((item) => item.name === 'crowd application jira'), { ok: false, detail: /apps\[\]\.crowdApplication of "jira"/ });
  t.equal(report.ok, false);
});
