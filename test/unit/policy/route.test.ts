import t from 'tap';
import type { AppConfig } from '../../../src/config/runtime-config.js';
import { createRouter } from '../../../src/policy/route.js';
import { testAppConfig } from '../../support/app-config.js';

const app = (name: string, hosts: string[]): AppConfig => testAppConfig({ name, hosts, upstream: new URL('http://127.0.0.1:1'), upstreamTimeoutMs: 1000 });
const jira = app('jira', ['jira.example.com', 'jira.example.com:8443']);
const confluence = app('confluence', ['wiki.example.com']);
// A site is whatever the caller built for the app; the router only reads its hosts.
const jiraSite = { app: jira };
const confluenceSite = { app: confluence };
const router = createRouter([jiraSite, confluenceSite], '/_sso');

t.test('routes by Host header, case-insensitively, to the very site built for the app', async (t) => {
  const routed = router.route('JIRA.example.com', '/');
  t.equal(routed.kind === 'app' ? routed.site : undefined, jiraSite, 'the same object, not a copy or a lookup by name');
  t.same(router.route('jira.example.com', '/browse/X-1'), { kind: 'app', site: jiraSite });
  t.same(router.route('JIRA.Example.com:8443', '/'), { kind: 'app', site: jiraSite });
  t.same(router.route('wiki.example.com', '/display/X'), { kind: 'app', site: confluenceSite });
});

t.test('unknown or missing hosts are not routed anywhere', async (t) => {
  for (const host of [undefined, '', 'evil.example.net', 'jira.example.com:9999', 'jira.example.com.evil.example.net']) {
    t.same(router.route(host, '/'), { kind: 'unknown-host' }, String(host));
  }
});

t.test('the reserved prefix reaches the built-in endpoints on every app host', async (t) => {
  for (const endpoint of ['saml/acs', 'saml/metadata', 'login', 'health', 'ready'] as const) {
    t.same(router.route('wiki.example.com', `/_sso/${endpoint}`), { kind: 'endpoint', site: confluenceSite, endpoint });
  }
  t.same(router.route('jira.example.com', '/_sso/nope'), { kind: 'endpoint', site: jiraSite, endpoint: undefined });
  t.same(router.route('jira.example.com', '/_sso'), { kind: 'endpoint', site: jiraSite, endpoint: undefined });
  t.same(router.route('jira.example.com', '/_ssox/login'), { kind: 'app', site: jiraSite }, 'a path merely starting like the prefix is the app\'s');
});
