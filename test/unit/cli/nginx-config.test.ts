/**
 * The nginx configuration `crowd-sso-proxy nginx-config` prints, for a loaded two-app configuration: its text, block
 * by block, and the values it refuses to write. A real nginx runs it in test/integration/forward-auth.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { AUTH_CACHE_KEY, renderNginxConfig } from '../../../src/cli/nginx-config.js';
import { loadConfig } from '../../../src/config/load-config.js';
import type { RuntimeConfig } from '../../../src/config/runtime-config.js';
import { ConfigError } from '../../../src/errors.js';
import { testAppConfig } from '../../support/app-config.js';

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

async function load(t: Test, raw: Record<string, unknown> = TWO_APPS): Promise<RuntimeConfig> {
  const file = join(t.testdir(), 'proxy.config.json');
  await writeFile(file, JSON.stringify(raw));
  return loadConfig(file, { env: {} });
}

/** The text of the block that starts with `head {` (its inner lines, without nested blocks' closing braces mixed up). */
function block(text: string, head: string): string {
  const start = text.indexOf(`${head} {`);
  if (start < 0) throw new Error(`no block "${head}" in:\n${text}`);
  let depth = 0;
  for (let i = text.indexOf('{', start); i < text.length; i++) {
    if (text[i] === '{') depth += 1;
    if (text[i] === '}' && --depth === 0) return text.slice(start, i + 1);
  }
  throw new Error(`unterminated block "${head}"`);
}

/** Each `server { … }` block. */
function servers(text: string): string[] {
  const found: string[] = [];
  let rest = text;
  while (rest.includes('\nserver {')) {
    const server = block(rest, '\nserver');
    found.push(server);
    rest = rest.slice(rest.indexOf(server) + server.length);
  }
  return found;
}

const directives = (text: string): string[] =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));

t.test('one server block per app, with its hosts and the listen address', async (t) => {
  const text = renderNginxConfig(await load(t), { ssoUpstream: 'http://127.0.0.1:8080', listen: '127.0.0.1:8000' });
  const [jira, confluence, ...others] = servers(text);
  t.same(others, []);
  t.match(jira, /\n\s+server_name jira\.example\.com issues\.example\.com;\n/);
  t.match(confluence, /\n\s+server_name wiki\.example\.com;\n/);
  for (const server of [jira, confluence]) t.match(server, /\n\s+listen 127\.0\.0\.1:8000;\n/);
  t.match(renderNginxConfig(await load(t), { ssoUpstream: 'http://127.0.0.1:8080' }), /\n\s+listen 80;\n/, 'listen defaults to 80');
  t.ok(!/^\s*(events|http)\s*\{/m.test(text), 'an http-level include: no events or http block');
  t.match(block(text, 'upstream crowd_sso_proxy'), /server 127\.0\.0\.1:8080;/);
  t.notMatch(text, /WARNING/, 'trustedProxies is set');
  const untrusted = await load(t, { ...TWO_APPS, trustedProxies: [] });
  t.match(renderNginxConfig(untrusted, { ssoUpstream: 'http://127.0.0.1:8080' }), /^# WARNING: trustedProxies is empty/m, 'an empty trustedProxies is pointed out');
  t.match(block(text, 'upstream crowd_sso_app_0_jira'), /server 10\.0\.0\.5:8080;/);
  t.match(block(text, 'upstream crowd_sso_app_1_confluence'), /server confluence\.internal:8443;/);
});

t.test('the auth location: internal, the original request in headers, no body', async (t) => {
  const text = renderNginxConfig(await load(t), { ssoUpstream: 'http://127.0.0.1:8080' });
  for (const server of servers(text)) {
    const auth = directives(block(server, 'location = /_sso/auth'));
    for (const line of [
      'internal;',
      'proxy_pass http://crowd_sso_proxy/_sso/auth;',
      'proxy_pass_request_body off;',
      'proxy_set_header Content-Length "";',
      'proxy_set_header Host $host;',
      'proxy_set_header X-Original-URI $request_uri;',
      'proxy_set_header X-Original-Method $request_method;',
      'proxy_set_header X-Forwarded-For $remote_addr;',
      'proxy_set_header X-Forwarded-Proto $scheme;',
      'proxy_buffer_size 32k;',
    ]) {
      t.ok(auth.includes(line), line);
    }
    t.notOk(auth.some((line) => /^proxy_set_header (Cookie|Authorization) /i.test(line)), 'the client\'s Cookie and Authorization pass as they are');
  }
});

t.test('the auth cache: allowing answers only, keyed on what the decision depends on', async (t) => {
  const config = await load(t);
  const text = renderNginxConfig(config, { ssoUpstream: 'http://127.0.0.1:8080', authCachePath: '/srv/cache/sso' });
  t.match(text, /^proxy_cache_path \/srv\/cache\/sso levels=1:2 keys_zone=crowd_sso_auth:10m /m);
  const auth = directives(block(servers(text)[0] as string, 'location = /_sso/auth'));
  t.ok(auth.includes('proxy_cache crowd_sso_auth;'));
  t.ok(auth.includes(`proxy_cache_key "${AUTH_CACHE_KEY}";`));
  t.ok(AUTH_CACHE_KEY.startsWith('$request_method|$host|$request_uri|$http_cookie|$http_authorization'), AUTH_CACHE_KEY);
  t.same(auth.filter((line) => line.startsWith('proxy_cache_valid')), ['proxy_cache_valid 200 5s;'], 'only 200, 5 seconds by default');
  t.ok(auth.some((line) => /^proxy_ignore_headers .*Cache-Control.*Expires/.test(line)), 'the answer\'s Cache-Control cannot make a 401 or 403 cacheable');

  const byDefault = renderNginxConfig(config, { ssoUpstream: 'http://127.0.0.1:8080' });
  t.match(byDefault, /^proxy_cache_path \/run\/crowd-sso-proxy-auth levels=1:2 keys_zone=crowd_sso_auth:10m max_size=64m inactive=60s use_temp_path=off;$/m, 'in /run (a tmpfs on systemd hosts), expired files gone after a minute');
  t.match(block(byDefault, 'upstream crowd_sso_proxy'), /keepalive 64;/, 'idle connections to the proxy for a burst of questions');
  const thirty = directives(renderNginxConfig(config, { ssoUpstream: 'http://127.0.0.1:8080', authCacheSeconds: 30 }));
  t.ok(thirty.includes('proxy_cache_valid 200 30s;'));
  const hour = renderNginxConfig(config, { ssoUpstream: 'http://127.0.0.1:8080', authCacheSeconds: 3600 });
  t.match(hour, / inactive=3600s /, 'a longer-lived answer is kept as long as it is valid');
  const none = renderNginxConfig(config, { ssoUpstream: 'http://127.0.0.1:8080', authCacheSeconds: 0 });
  t.notMatch(none, /proxy_cache/, '0 turns the cache off');
});

t.test('the proxy\'s endpoints and the apps\' logout and login paths go to the proxy', async (t) => {
  const [jira, confluence] = servers(renderNginxConfig(await load(t), { ssoUpstream: 'http://127.0.0.1:8080' })) as [string, string];
  const passToProxy = (server: string, location: string): void => {
    t.ok(directives(block(server, `location ${location}`)).includes('proxy_pass http://crowd_sso_proxy;'), location);
  };
  for (const server of [jira, confluence]) {
    passToProxy(server, '^~ /_sso/');
    passToProxy(server, '= /_sso');
    // The pass-through locations define no headers: they inherit the server's.
    const inherited = directives(server.slice(0, server.indexOf('location ')));
    for (const line of ['proxy_set_header Host $host;', 'proxy_set_header X-Forwarded-For $remote_addr;', 'proxy_set_header X-Forwarded-Proto $scheme;', 'proxy_set_header X-Forwarded-Host $host;']) {
      t.ok(inherited.includes(line), line);
    }
  }
  for (const path of ['/logout', '/secure/Logout!default.jspa', '/secure/Logout.jspa', '/login.jsp', '/rest/tsv/1.0/authenticate']) passToProxy(jira, `= ${path}`);
  for (const path of ['/logout.action', '/login.action', '/dologin.action']) passToProxy(confluence, `= ${path}`);
  t.notMatch(confluence, 'Logout!default.jspa', 'each server has its own app\'s paths');
});

t.test('everything else: auth_request, the vetted Cookie, the login redirect, stripped headers, streaming, WebSockets', async (t) => {
  const text = renderNginxConfig(await load(t), { ssoUpstream: 'http://127.0.0.1:8080' });
  const [jira, confluence] = servers(text) as [string, string];
  const app = directives(block(jira, 'location /'));
  t.equal(app[1], 'if ($request_uri ~ "^/_sso(?:[/?]|$)") {', 'first: a raw URI below the prefix that nginx normalized elsewhere is refused');
  t.equal(app[2], 'return 404;');
  for (const line of [
    'auth_request /_sso/auth;',
    'auth_request_set $sso_cookie $upstream_http_x_sso_cookie;',
    'auth_request_set $sso_login $upstream_http_x_sso_login;',
    'auth_request_set $sso_www $upstream_http_www_authenticate;',
    'error_page 401 = @sso_login;',
    'proxy_pass http://crowd_sso_app_0_jira;',
    'proxy_set_header Cookie $sso_cookie;',
    'proxy_set_header Host $host;',
    'proxy_set_header X-Forwarded-For $remote_addr;',
    'proxy_set_header X-Forwarded-Proto $scheme;',
    'proxy_set_header X-Forwarded-Host $host;',
    'proxy_http_version 1.1;',
    'proxy_set_header Upgrade $sso_upgrade;',
    'proxy_set_header Connection $sso_connection_upgrade;',
    'proxy_request_buffering off;',
    'proxy_buffering off;',
    'proxy_read_timeout 300s;',
  ]) {
    t.ok(app.includes(line), line);
  }
  for (const name of ['X-Remote-User', 'X-SSO-User', 'X-SSO-Cookie', 'Forwarded', 'X-Real-IP', 'X-Original-URI', 'X-Http-Method-Override', 'Proxy-Authorization', 'X-Forwarded-User']) {
    t.ok(app.some((line) => line.toLowerCase() === `proxy_set_header ${name.toLowerCase()} "";`), `${name} from the client is cleared`);
  }
  t.notOk(app.some((line) => /^proxy_set_header authorization /i.test(line)), 'Authorization reaches the app (credentials paths)');
  t.ok(directives(jira).includes('client_max_body_size 0;'));

  t.match(text, /map \$http_upgrade \$sso_upgrade \{\s+default "";\s+~\*\^websocket\$ websocket;\s+\}/);
  t.match(text, /map \$http_upgrade \$sso_connection_upgrade \{\s+default "";\s+~\*\^websocket\$ upgrade;\s+\}/);
  t.match(text, /upstream crowd_sso_app_\w+ \{\s+server [^;]+;\s+keepalive 64;\s+\}/, 'connections to the apps are kept alive (no Connection header on ordinary requests)');

  const login = directives(block(jira, 'location @sso_login'));
  t.same(login, ['location @sso_login {', 'absolute_redirect off;', 'if ($sso_login) {', 'return 302 $sso_login;', '}', 'return 401;', '}']);

  const wiki = directives(block(confluence, 'location /'));
  t.ok(wiki.includes('proxy_pass https://crowd_sso_app_1_confluence/wiki$request_uri;'), 'a path prefix, then the raw URI');
  t.ok(wiki.includes('proxy_ssl_server_name on;'));
  t.ok(wiki.includes('proxy_ssl_name confluence.internal;'));
  t.ok(wiki.includes('proxy_read_timeout 120s;'));
});

t.test('braces balance and every directive ends with ";"', async (t) => {
  const text = renderNginxConfig(await load(t), { ssoUpstream: 'http://127.0.0.1:8080' });
  let depth = 0;
  for (const line of directives(text)) {
    if (line.endsWith('{')) depth += 1;
    else if (line === '}') depth -= 1;
    else t.ok(line.endsWith(';'), line);
    t.ok(depth >= 0);
  }
  t.equal(depth, 0);
});

t.test('a host with a port: server_name without it, the Host header as the client sent it', async (t) => {
  const config = await load(t, { ...TWO_APPS, apps: [{ ...TWO_APPS.apps[0], hosts: ['jira.example.com:8443'] }] });
  const [server] = servers(renderNginxConfig(config, { ssoUpstream: 'http://127.0.0.1:8080', listen: '8443' })) as [string];
  t.match(server, /server_name jira\.example\.com;/);
  t.ok(directives(block(server, 'location /')).includes('proxy_set_header Host $http_host;'));
});

t.test('values nginx would read as syntax are refused, naming the value', async (t) => {
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
  const sso = { ssoUpstream: 'http://127.0.0.1:8080' };
  refusal(() => renderNginxConfig(withApp({ hosts: ['jira.example.com;evil'] }), sso), 'apps[0].hosts[0]', /"jira\.example\.com;evil" cannot be written into an nginx configuration: it contains ";"/);
  refusal(() => renderNginxConfig(withApp({ hosts: ['ok.example.com', 'a}b'] }), sso), 'apps[0].hosts[1]', /contains "\}"/);
  refusal(() => renderNginxConfig(withApp({ hosts: ['a b'] }), sso), 'apps[0].hosts[0]', /contains U\+0020/);
  refusal(() => renderNginxConfig(withApp({ hosts: ['a"b'] }), sso), 'apps[0].hosts[0]', /contains """/);
  refusal(() => renderNginxConfig(withApp({ logoutPaths: ['/log out'] }), sso), 'apps[0].logoutPaths[0]', /U\+0020/);
  refusal(() => renderNginxConfig(withApp({ logoutPaths: ['/$host'] }), sso), 'apps[0].logoutPaths[0]', /contains "\$"/);
  refusal(() => renderNginxConfig(withApp({ loginPaths: ['/a%20b'] }), sso), 'apps[0].loginPaths[0]', /decoded/);
  refusal(() => renderNginxConfig(withApp({ upstream: new URL('http://u:p@10.0.0.5:8080') }), sso), 'apps[0].upstream', /credentials/);
  refusal(() => renderNginxConfig(withApp({}), { ssoUpstream: 'not a url' }), '--sso-upstream', /not a URL/);
  refusal(() => renderNginxConfig(withApp({}), { ssoUpstream: 'http://127.0.0.1:8080/x' }), '--sso-upstream', /must not have a path/);
  refusal(() => renderNginxConfig(withApp({}), { ...sso, listen: '80;evil' }), '--listen', /contains ";"/);
  refusal(() => renderNginxConfig(withApp({}), { ...sso, authCacheSeconds: -1 }), '--auth-cache-seconds', /whole number/);
  refusal(() => renderNginxConfig(withApp({}), { ...sso, authCacheSeconds: 1.5 }), '--auth-cache-seconds', /whole number/);
  refusal(
    () => renderNginxConfig({ ...config, apps: [testAppConfig({ name: 'a', hosts: ['x.example.com:8080'], upstream: new URL('http://10.0.0.5') }), testAppConfig({ name: 'b', hosts: ['x.example.com:8090'], upstream: new URL('http://10.0.0.6') })] }, sso),
    'apps[1].hosts',
    /also a host of app "a"/,
  );
});
