/** Prometheus metrics on the admin listener, as a monitoring system scrapes them. */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { HTML, loginAs, post, response, startLogin } from '../../support/saml-login.js';
import { HOSTS, startStack, type Stack } from '../../support/stack.js';

const GOLDEN = new URL('../../fixtures/metrics/metrics.golden.txt', import.meta.url);
const KEYS = (name: string): string => fileURLToPath(new URL(`../../../examples/demo/keys/${name}`, import.meta.url));

async function adminGet(stack: Stack, path: string): Promise<{ status: number; type: string | null; body: string }> {
  const address = stack.proxy.adminAddress();
  if (address === undefined) throw new Error('no admin listener');
  const res = await fetch(`http://127.0.0.1:${address.port}${path}`);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

/** The value of one sample, `name{labels}` exactly as exposed (labels in declaration order); undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Every HELP and TYPE line of the proxy's own metrics: what dashboards and alerts are built on. */
function descriptors(text: string): string {
  return `${text
    .split('\n')
    .filter((line) => /^# (HELP|TYPE) crowd_sso_proxy_/.test(line))
    .join('\n')}\n`;
}

t.test('after a login, a SAML failure and a Crowd failure the admin listener shows what happened', async (t) => {
  const stack = await startStack(t, {
    config: {
      admin: { host: '127.0.0.1', port: 0 },
      saml: { spPrivateKey: { file: KEYS('sp.key') }, spCertificateFile: KEYS('sp.crt') },
    },
  });
  const browser = stack.browser();
  t.same([(await adminGet(stack, '/health')).status, (await adminGet(stack, '/ready')).status, (await adminGet(stack, '/nothing')).status], [200, 200, 404]);
  const notPublic = await browser.request(`http://${HOSTS.jira}/_sso/metrics`, { headers: HTML });
  t.equal(notPublic.status, 404, 'never on the app hosts');

  await loginAs(stack, browser, HOSTS.echo);
  for (let i = 0; i < 3; i++) t.equal((await browser.request(`http://${HOSTS.echo}/x`, { headers: { accept: 'application/json' } })).status, 200);

  const failed = stack.browser();
  const login = await startLogin(failed, `http://${HOSTS.jira}/browse/DEMO-1`);
  t.equal((await post(failed, login.acsUrl, { SAMLResponse: response(stack, login, { sign: 'none' }), RelayState: login.relayState })).status, 403);

  await stack.crowd.close();
  const stranger = stack.browser();
  stranger.setCookie(HOSTS.echo, 'crowd.token_key', 'tokenTheCrowdNeverSaw0001');
  t.equal((await stranger.request(`http://${HOSTS.echo}/x`, { headers: { accept: 'application/json' } })).status, 503);

  const scrape = await adminGet(stack, '/metrics');
  t.equal(scrape.status, 200);
  t.match(scrape.type, /^text\/plain; version=0\.0\.4/);
  const text = scrape.body;
  t.equal(sample(text, 'crowd_sso_proxy_logins_total{outcome="success",reason="signed_in"}'), 1, 'one login');
  t.equal(sample(text, 'crowd_sso_proxy_logins_total{outcome="failure",reason="saml_signature"}'), 1, 'one failed login');
  t.equal(sample(text, 'crowd_sso_proxy_saml_failures_total{reason="saml_signature"}'), 1, 'one SAML failure');
  t.equal(sample(text, 'crowd_sso_proxy_saml_failures_total{reason="saml_replay"}'), 0, 'the other reasons are there from the start');
  t.equal(sample(text, 'crowd_sso_proxy_requests_total{app="echo",decision="forward",status_class="2xx"}'), 3);
  t.equal(sample(text, 'crowd_sso_proxy_requests_total{app="echo",decision="internal",status_class="3xx"}'), 2, 'the login start (its 302 to the IdP) and the ACS post');
  t.equal(sample(text, 'crowd_sso_proxy_requests_total{app="jira",decision="internal",status_class="4xx"}'), 2, 'the refused ACS post, and /_sso/metrics');
  t.equal(sample(text, 'crowd_sso_proxy_requests_total{app="echo",decision="error",status_class="5xx"}'), 1, 'Crowd down');
  t.equal(sample(text, 'crowd_sso_proxy_requests_total{app="jira",decision="login",status_class="2xx"}'), 1, 'the login-start page');
  t.equal(sample(text, 'crowd_sso_proxy_upstream_duration_seconds_count{app="echo"}'), 3);
  t.equal(sample(text, 'crowd_sso_proxy_crowd_request_duration_seconds_count{endpoint="POST /session"}'), 1, 'one Crowd session created');
  t.equal(sample(text, 'crowd_sso_proxy_crowd_request_duration_seconds_count{endpoint="POST /session/{token}"}'), 2, 'the new token once, the stranger once');
  t.equal(sample(text, 'crowd_sso_proxy_crowd_errors_total{endpoint="POST /session/{token}",kind="unreachable"}'), 1);
  t.equal(sample(text, 'crowd_sso_proxy_crowd_errors_total{endpoint="POST /session",kind="unreachable"}'), 0);
  t.equal(sample(text, 'crowd_sso_proxy_token_cache_misses_total'), 2);
  t.equal(sample(text, 'crowd_sso_proxy_token_cache_hits_total'), 2, 'requests 2 and 3 came from the cache');
  t.equal(sample(text, 'crowd_sso_proxy_token_cache_entries'), 1);
  t.notMatch(text, /tokenTheCrowdNeverSaw|crowd\.token_key/, 'no token in any label');

  const idpCert = text.split('\n').find((line) => line.startsWith('crowd_sso_proxy_idp_certificate_expiry_days{fingerprint="'));
  t.ok(idpCert, 'one series per IdP signing certificate');
  t.ok(Number(idpCert?.split(' ')[1]) > 0, 'the demo IdP certificate is valid');
  t.ok((sample(text, 'crowd_sso_proxy_sp_certificate_expiry_days') ?? 0) > 0, 'the SP certificate is valid');
  t.equal(sample(text, 'crowd_sso_proxy_idp_metadata_refresh_failures_total'), 0);
  t.ok(sample(text, 'process_cpu_user_seconds_total') !== undefined, 'process metrics');
  t.ok(sample(text, 'nodejs_heap_size_total_bytes') !== undefined, 'Node.js metrics');

  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, descriptors(text));
  t.equal(descriptors(text), readFileSync(GOLDEN, 'utf8'), 'metric names, help and types match the golden file');
});

t.test('counters survive a configuration reload', async (t) => {
  const stack = await startStack(t, { config: { admin: { host: '127.0.0.1', port: 0 } } });
  const browser = stack.browser();
  await loginAs(stack, browser, HOSTS.echo);
  await browser.request(`http://${HOSTS.echo}/x`, { headers: { accept: 'application/json' } });
  await stack.proxy.reload(stack.config);
  await browser.request(`http://${HOSTS.echo}/x`, { headers: { accept: 'application/json' } });
  const text = (await adminGet(stack, '/metrics')).body;
  t.equal(sample(text, 'crowd_sso_proxy_requests_total{app="echo",decision="forward",status_class="2xx"}'), 2, 'one before, one after the reload');
  t.equal(sample(text, 'crowd_sso_proxy_logins_total{outcome="success",reason="signed_in"}'), 1);
  t.equal(sample(text, 'crowd_sso_proxy_token_cache_entries'), 1, 'the new runtime\'s cache (asked Crowd again)');
});

t.test('without an admin listener there are no metrics, and nothing new is reachable', async (t) => {
  const stack = await startStack(t);
  t.equal(stack.proxy.adminAddress(), undefined);
  t.equal((await stack.browser().request(`http://${HOSTS.jira}/_sso/metrics`, { headers: HTML })).status, 404);
});
