/**
 * The Caddyfile `renderCaddyConfig` writes for a loaded two-app configuration: its text, block by block, the values it
 * refuses to write, and (when the caddy binary is installed) `caddy validate` and `caddy adapt` of the real thing.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { renderCaddyConfig } from '../../../src/cli/caddy-config.js';
import { loadConfig } from '../../../src/config/load-config.js';
import type { RuntimeConfig } from '../../../src/config/runtime-config.js';
import { ConfigError } from '../../../src/errors.js';
import { testAppConfig } from '../../support/app-config.js';

const run = promisify(execFile);

const TWO_APPS = {
  stateSecret: 'test-state-secret-0123456789-abcdef',
  trustedProxies: ['127.0.0.1/32'],
  apps: [
    { name: 'jira', preset: 'jira', hosts: ['jira.example.com', 'issues.example.com'], upstream: 'http://10.0.0.5:8080' },
    { name: 'confluence', preset: 'confluence', hosts: ['wiki.example.com'], upstream: 'https://confluence.internal:8443/wiki/', upstreamTimeoutSeconds: 120 },
  ],
  crowd: { baseUrl: 'https://crowd.example.com/crowd', applicationName: 'crowd-sso-proxy', applicationPassword: 'app-secret' },
  saml: { spEntityId: 'https://jira.example.com/_sso/saml/metadata', idp: { metadataUrl: 'https://idp.example.com/metadata' } },
};

const SSO = { ssoUpstream: 'http://127.0.0.1:8080' };

async function load(t: Test, raw: Record<string, unknown> = TWO_APPS): Promise<RuntimeConfig> {
  const file = join(t.testdir(), 'proxy.config.json');
  await writeFile(file, JSON.stringify(raw));
  return loadConfig(file, { env: {} });
}

/** The text of the block that starts with `head {`, up to its closing brace (`\{` in a regular expression is no brace). */
function block(text: string, head: string): string {
  const start = text.indexOf(`${head} {`);
  if (start < 0) throw new Error(`no block "${head}" in:\n${text}`);
  let depth = 0;
  for (let i = text.indexOf('{', start + head.length); i < text.length; i++) {
    if (text[i - 1] === '\\') continue;
    if (text[i] === '{') depth += 1;
    if (text[i] === '}' && --depth === 0) return text.slice(start, i + 1);
  }
  throw new Error(`unterminated block "${head}"`);
}

const directives = (text: string): string[] =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));

/** Top-level block heads (snippets and site blocks), in order. */
const heads = (text: string): string[] => text.split('\n').filter((line) => /^\S.*\{$/.test(line));

t.test('a snippet per app, a site block per app host (http:// for a public http scheme)', async (t) => {
  const text = renderCaddyConfig(await load(t), SSO);
  t.same(heads(text), [
    '(crowd_sso_app_0_jira) {',
    '(crowd_sso_app_1_confluence) {',
    'http://jira.example.com {',
    'http://issues.example.com {',
    'http://wiki.example.com {',
  ]);
  t.same(directives(block(text, 'http://issues.example.com')), ['http://issues.example.com {', 'import crowd_sso_app_0_jira', '}']);
  t.same(directives(block(text, 'http://wiki.example.com')), ['http://wiki.example.com {', 'import crowd_sso_app_1_confluence', '}']);

  const https = renderCaddyConfig(await load(t, { ...TWO_APPS, publicScheme: 'https' }), SSO);
  t.same(heads(https).slice(2), ['jira.example.com {', 'issues.example.com {', 'wiki.example.com {'], 'https: Caddy\'s automatic HTTPS');
});

t.test('the proxy\'s endpoints and the apps\' logout and login paths go to the proxy', async (t) => {
  const text = renderCaddyConfig(await load(t), SSO);
  const jira = block(text, '(crowd_sso_app_0_jira)');
  const confluence = block(text, '(crowd_sso_app_1_confluence)');
  t.ok(
    directives(jira).includes('@crowd_sso path /_sso /_sso/* /secure/Logout!default.jspa /secure/Logout.jspa /logout /login.jsp /rest/tsv/1.0/authenticate'),
    'the prefix, everything below it, and Jira\'s logout and login paths',
  );
  t.ok(directives(confluence).includes('@crowd_sso path /_sso /_sso/* /logout.action /login.action /dologin.action /rest/tsv/1.0/authenticate'));
  for (const snippet of [jira, confluence]) {
    t.same(directives(block(snippet, 'handle @crowd_sso')), ['handle @crowd_sso {', 'reverse_proxy http://127.0.0.1:8080', '}']);
    const lines = directives(snippet);
    t.ok(lines.includes('@crowd_sso_auth path /_sso/auth'));
    t.same(directives(block(snippet, 'handle @crowd_sso_auth')), ['handle @crowd_sso_auth {', 'respond 404', '}'], 'clients cannot call the auth endpoint');
    t.ok(lines.indexOf('handle @crowd_sso_auth {') < lines.indexOf('handle @crowd_sso {'), 'and that handle comes first');
  }
});

t.test('everything else: client headers removed, forward_auth, the vetted Cookie, then the app', async (t) => {
  const text = renderCaddyConfig(await load(t), SSO);
  const route = directives(block(block(text, '(crowd_sso_app_0_jira)'), 'route'));
  const at = (line: string): number => {
    const index = route.indexOf(line);
    t.ok(index >= 0, line);
    return index;
  };
  const auth = at('forward_auth http://127.0.0.1:8080 {');
  t.same(route.slice(auth, auth + 4), ['forward_auth http://127.0.0.1:8080 {', 'uri /_sso/auth?redirect=1', 'copy_headers X-SSO-Cookie X-SSO-User', '}']);
  const placeholderLeft = at('@crowd_sso_no_user header_regexp X-SSO-User ^\\{http\\.reverse_proxy\\.header\\.');
  t.ok(auth < placeholderLeft && placeholderLeft < at('request_header @crowd_sso_no_user -X-SSO-User'), 'an uncopied X-SSO-User (Caddy 2.6: the placeholder text) removed');
  at('@crowd_sso_no_cookie header_regexp X-SSO-Cookie ^\\{http\\.reverse_proxy\\.header\\.');
  const cookie = at('request_header Cookie {http.request.header.X-SSO-Cookie}');
  t.ok(at('request_header @crowd_sso_no_cookie -X-SSO-Cookie') < cookie);
  const proxy = at('reverse_proxy http://10.0.0.5:8080 {');
  t.ok(auth < cookie && cookie < at('request_header -X-SSO-Cookie') && cookie < proxy, 'asked, then the Cookie replaced, then forwarded');
  for (const name of ['X-Sso-User', 'X-Sso-Cookie', 'X-Remote-User', 'Forwarded', 'X-Real-Ip', 'X-Original-Uri', 'X-Forwarded-Uri', 'X-Http-Method-Override', 'Proxy-Authorization']) {
    t.ok(route.indexOf(`request_header -${name}`) < auth && route.includes(`request_header -${name}`), `${name} from the client removed before the proxy is asked`);
  }
  t.notOk(route.some((line) => /^request_header -(Authorization|Cookie|X-Forwarded-(For|Proto|Host))$/i.test(line)), 'credentials pass; Caddy sets X-Forwarded-For/-Proto/-Host');
  t.ok(route.includes('response_header_timeout 300s'), 'the app\'s upstream timeout');
  t.ok(route.includes('flush_interval -1'));

  const wiki = directives(block(block(text, '(crowd_sso_app_1_confluence)'), 'route'));
  t.ok(wiki.indexOf('rewrite * /wiki{http.request.uri}') > wiki.indexOf('copy_headers X-SSO-Cookie X-SSO-User'), 'the path prefix, after the proxy was asked about the public URI');
  t.ok(wiki.includes('reverse_proxy https://confluence.internal:8443 {'));
  t.ok(wiki.includes('response_header_timeout 120s'));
});

t.test('braces balance', async (t) => {
  const text = renderCaddyConfig(await load(t), SSO);
  let depth = 0;
  for (const line of directives(text)) {
    if (line.endsWith('{')) depth += 1;
    else if (line === '}') depth -= 1;
    t.ok(depth >= 0);
  }
  t.equal(depth, 0);
});

t.test('values the Caddyfile would read as syntax are refused, naming the value', async (t) => {
  const config = await load(t);
  const withApp = (fields: Partial<Parameters<typeof testAppConfig>[0]>): RuntimeConfig => ({
    ...config,
    apps: [testAppConfig({ name: 'jira', hosts: ['jira.example.com'], upstream: new URL('http://10.0.0.5:8080'), ...fields })],
  });
  const refusal = (render: () => unknown, path: string, message: RegExp): void => {
    try {
      render();
      t.fail(`${path}: not refused`);
    } catch (error) {
      t.type(error, ConfigError);
      t.equal((error as ConfigError).problems[0]?.path, path);
      t.match((error as ConfigError).problems[0]?.message, message, path);
    }
  };
  refusal(() => renderCaddyConfig(withApp({ hosts: ['jira.example.com{'] }), SSO), 'apps[0].hosts[0]', /"jira\.example\.com\{" cannot be written into a Caddyfile: it contains "\{"/);
  refusal(() => renderCaddyConfig(withApp({ hosts: ['ok.example.com', 'a b'] }), SSO), 'apps[0].hosts[1]', /contains U\+0020/);
  refusal(() => renderCaddyConfig(withApp({ logoutPaths: ['/{http.request.host}'] }), SSO), 'apps[0].logoutPaths[0]', /contains "\{"/);
  refusal(() => renderCaddyConfig(withApp({ logoutPaths: ['/a#b'] }), SSO), 'apps[0].logoutPaths[0]', /contains "#"/);
  refusal(() => renderCaddyConfig(withApp({ loginPaths: ['/login*'] }), SSO), 'apps[0].loginPaths[0]', /wildcard/);
  refusal(() => renderCaddyConfig(withApp({ loginPaths: ['/a%20b'] }), SSO), 'apps[0].loginPaths[0]', /decoded/);
  refusal(() => renderCaddyConfig(withApp({ upstream: new URL('http://u:p@10.0.0.5:8080') }), SSO), 'apps[0].upstream', /credentials/);
  refusal(() => renderCaddyConfig(withApp({}), { ssoUpstream: 'not a url' }), '--sso-upstream', /not a URL/);
  refusal(() => renderCaddyConfig(withApp({}), { ssoUpstream: 'http://127.0.0.1:8080/x' }), '--sso-upstream', /must not have a path/);
  refusal(
    () => renderCaddyConfig({ ...config, apps: [testAppConfig({ name: 'a', hosts: ['x.example.com'], upstream: new URL('http://10.0.0.5') }), testAppConfig({ name: 'b', hosts: ['X.example.com'], upstream: new URL('http://10.0.0.6') })] }, SSO),
    'apps[1].hosts',
    /also a host of app "a"/,
  );
});

const caddyMissing = await run('caddy', ['version']).then(
  () => false as const,
  () => 'caddy is not installed (Debian package caddy): the generated Caddyfile was not validated by Caddy',
);

t.test('the real caddy accepts it', { skip: caddyMissing }, async (t) => {
  const file = join(t.testdir(), 'Caddyfile');
  for (const raw of [TWO_APPS, { ...TWO_APPS, publicScheme: 'https' }]) {
    await writeFile(file, renderCaddyConfig(await load(t, raw), SSO));
    const validated = await run('caddy', ['validate', '--adapter', 'caddyfile', '--config', file]);
    t.match(validated.stdout + validated.stderr, /Valid configuration/);
  }

  // What the Caddyfile becomes: the auth answer's headers copied onto the request only for a 2xx answer.
  await writeFile(file, renderCaddyConfig(await load(t), SSO));
  const adapted = await run('caddy', ['adapt', '--adapter', 'caddyfile', '--config', file], { maxBuffer: 16 * 1024 * 1024 });
  const json = JSON.stringify(JSON.parse(adapted.stdout));
  t.match(json, /"handle_response":\[\{"match":\{"status_code":\[2\]\}/);
  t.match(json, /"rewrite":\{"method":"GET","uri":"\/_sso\/auth\?redirect=1"\}/);
  t.match(json, /"X-Forwarded-Uri":\["\{http\.request\.uri\}"\]/);
  t.match(json, /"Cookie":\["\{http\.request\.header\.X-SSO-Cookie\}"\]/);
});
