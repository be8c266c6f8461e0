/**
 * `crowd-sso-proxy nginx-config`: the nginx configuration that puts an existing nginx in front of the apps, with
 * crowd-sso-proxy as its authentication service (forward-auth: nginx asks `<pathPrefix>/auth` about every request
 * through `auth_request`, and forwards to the app itself).
 *
 * What stays with the proxy, as ordinary reverse-proxy locations: its own endpoints (`<pathPrefix>/…`), and the apps'
 * logout, login and login-form paths and emergency access path, whose answers the proxy rewrites or refuses (which
 * an `auth_request` answer cannot do).
 *
 * Every value that goes into the text is checked: a character nginx would read as syntax (`;`, `{`, `}`, quotes,
 * `$`, whitespace, …) is refused with a ConfigError naming the value, never escaped into something else.
 */
import { CLIENT_HEADERS_REMOVED } from '../proxy/upstream-headers.js';
import type { AppConfig, RuntimeConfig } from '../config/runtime-config.js';
import { BlockWriter, checkMatchPath, checkToken, configProblem, headerName, hostName, productPaths, SSO_ANSWER_HEADERS, upstreamParts, type EdgeSyntax } from './edge-config.js';

export interface NginxConfigOptions {
  /** Where nginx reaches crowd-sso-proxy: `http://127.0.0.1:8080` (scheme, host, port; no path). */
  readonly ssoUpstream: string;
  /** The `listen` parameters of every generated server block (`80`, `127.0.0.1:8080`, `443 ssl`); default `80`. */
  readonly listen?: string | undefined;
  /** How long nginx reuses an allowing answer of the proxy (0 = asks every time); default 5. */
  readonly authCacheSeconds?: number | undefined;
  /** Directory of the auth cache (nginx's proxy_cache_path); default /run/crowd-sso-proxy-auth. */
  readonly authCachePath?: string | undefined;
}

export const DEFAULT_AUTH_CACHE_SECONDS = 5;
const DEFAULT_LISTEN = '80';
/**
 * In /run: it always exists and only root writes there, so nginx's master can create the folder (nginx creates the
 * last path component only: /var/cache/nginx/… fails `nginx -t` where the package has no /var/cache/nginx, as
 * Debian's), and a local user cannot plant answers in it. On systemd hosts /run is a tmpfs: with the cache on ext4,
 * storing each new answer (create, write, rename) cost nginx about 315 µs of CPU per question to the proxy, on a tmpfs
 * about 140 µs; a hit costs the same on both (the page cache serves it). Answers live seconds and need not survive a
 * reboot.
 */
const DEFAULT_AUTH_CACHE_PATH = '/run/crowd-sso-proxy-auth';
const MAX_AUTH_CACHE_SECONDS = 3600;
const MIN_AUTH_CACHE_INACTIVE_SECONDS = 60;
const SSO_UPSTREAM_NAME = 'crowd_sso_proxy';
const AUTH_CACHE_ZONE = 'crowd_sso_auth';

/**
 * The auth cache key: everything the proxy's decision depends on. The client address is part of it because Crowd may
 * bind a session to the address it was created from (validation factors): a copied cookie from elsewhere must not be
 * let in on another client's cached answer.
 */
export const AUTH_CACHE_KEY = '$request_method|$host|$request_uri|$http_cookie|$http_authorization|$remote_addr';

/** Forwarding headers nginx sets itself on every request to the app (so the client's never pass). */
const FORWARDING_SET = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);
/**
 * Hop-by-hop headers a client may not hand to the app (RFC 9110 §7.6.1), as the proxy's own forwarder removes them;
 * `Upgrade` and `Connection` are set from the WebSocket maps instead.
 */
const HOP_BY_HOP_CLEARED = ['proxy-authorization', 'proxy-connection', 'keep-alive', 'te', 'trailer', 'http2-settings', 'expect'];

/**
 * nginx's syntax: whitespace and control characters end a token, `;` `{` `}` end directives and blocks, quotes and
 * `\` are string syntax, `$` starts a variable, `#` a comment.
 */
const NGINX: EdgeSyntax = { fileName: 'an nginx configuration', tool: 'nginx', forbidden: ';{}"\'\\$#`' };
const token = (value: string, what: string): string => checkToken(NGINX, value, what);
const problem = configProblem;
const locationPath = (path: string, what: string): string => checkMatchPath(NGINX, path, what);

interface UpstreamTarget {
  /** `http` or `https`. */
  readonly scheme: string;
  /** `host:port` for nginx's upstream `server`. */
  readonly server: string;
  /** For TLS upstreams: the name sent in SNI. */
  readonly hostname: string;
  /** Path prefix without trailing slash ('' for none). */
  readonly prefix: string;
}

function upstreamTarget(url: URL, what: string, allowPath: boolean): UpstreamTarget {
  const { scheme, hostname, port, prefix } = upstreamParts(NGINX, url, what, allowPath);
  return { scheme, server: `${hostname}:${port}`, hostname: hostname.replace(/^\[|\]$/g, ''), prefix };
}

/** A literal for an nginx (PCRE) regular expression; the value has passed `token` (no quotes, braces or `\\`). */
function regexEscape(value: string): string {
  return value.replace(/[.*+?^()|[\]]/g, (char) => `\\${char}`);
}

interface AppPlan {
  readonly app: AppConfig;
  readonly index: number;
  readonly serverNames: readonly string[];
  /** `$host`, or `$http_host` when a host of the app carries a port (the proxy routes on the Host header as sent). */
  readonly hostVariable: string;
  readonly upstreamName: string;
  readonly upstream: UpstreamTarget;
  /** Exact paths nginx hands to the proxy as a reverse proxy. */
  readonly proxyPaths: readonly string[];
}

/**
 * The nginx configuration (an include for the `http {}` level) for `config`: one `server` per app, asking the proxy
 * at `options.ssoUpstream` about every request. Throws ConfigError for a value nginx cannot take.
 */
export function renderNginxConfig(config: RuntimeConfig, options: NginxConfigOptions): string {
  const listen = (options.listen ?? DEFAULT_LISTEN)
    .trim()
    .split(/\s+/)
    .map((part) => token(part, '--listen'))
    .join(' ');
  const cacheSeconds = options.authCacheSeconds ?? DEFAULT_AUTH_CACHE_SECONDS;
  if (!Number.isInteger(cacheSeconds) || cacheSeconds < 0 || cacheSeconds > MAX_AUTH_CACHE_SECONDS) {
    throw problem('--auth-cache-seconds', `must be a whole number of seconds from 0 to ${MAX_AUTH_CACHE_SECONDS}, not ${String(options.authCacheSeconds)}`);
  }
  const cachePath = token(options.authCachePath ?? DEFAULT_AUTH_CACHE_PATH, '--auth-cache-path');
  let ssoUrl: URL;
  try {
    ssoUrl = new URL(options.ssoUpstream);
  } catch {
    throw problem('--sso-upstream', `"${options.ssoUpstream}" is not a URL; give where nginx reaches crowd-sso-proxy, e.g. http://127.0.0.1:8080`);
  }
  const sso = upstreamTarget(ssoUrl, '--sso-upstream', false);
  const prefix = locationPath(config.pathPrefix, 'pathPrefix');
  const authPath = `${prefix}/auth`;

  const plans = config.apps.map((app, index) => planApp(app, index, prefix));
  const seen = new Map<string, string>();
  for (const plan of plans) {
    for (const name of plan.serverNames) {
      const other = seen.get(name);
      if (other !== undefined && other !== plan.app.name) {
        throw problem(`apps[${plan.index}].hosts`, `the host name "${name}" is also a host of app "${other}": nginx picks a server by host name without the port`);
      }
      seen.set(name, plan.app.name);
    }
  }

  const w = new BlockWriter('    ');
  w.comment(
    'crowd-sso-proxy in forward-auth mode: generated by `crowd-sso-proxy nginx-config`; regenerate it when apps,',
    'their hosts, upstreams, login or logout paths, or pathPrefix change.',
    'Include it at the http {} level. crowd-sso-proxy must list the address nginx connects from in trustedProxies,',
    `else it answers every ${authPath} request with 403.`,
  );
  if (config.trustedProxies.length === 0) {
    w.comment('WARNING: trustedProxies is empty in the proxy\'s configuration: until nginx\'s address is added, every request is refused.');
  }
  if (config.publicScheme === 'https' && !/\bssl\b/.test(listen)) {
    w.comment('The public scheme is https: terminate TLS in front of this nginx, or listen with "ssl" and add ssl_certificate.');
  }
  w.line();
  w.comment('WebSocket upgrades only: any other Upgrade (h2c, …) a client sends never reaches an app.');
  w.block('map $http_upgrade $sso_upgrade', () => {
    w.line('default "";');
    w.line('~*^websocket$ websocket;');
  });
  // Empty for an ordinary request: nginx then sends no Connection header and keeps the upstream connection alive.
  w.block('map $http_upgrade $sso_connection_upgrade', () => {
    w.line('default "";');
    w.line('~*^websocket$ upgrade;');
  });
  w.line();
  if (cacheSeconds > 0) {
    w.comment(
      `The auth cache: an allowing answer of the proxy is reused for ${cacheSeconds}s for the same method, host, URI, cookies,`,
      'credentials and client address (a hit costs no call to the proxy). Refusals are never cached. For that long after',
      'a logout nginx may still forward the ended session; the app validates the Crowd cookie itself and refuses it.',
      'Keep the folder on a tmpfs (/run is one on systemd hosts): on disk, storing each new answer costs nginx about',
      'twice the CPU of the question itself.',
    );
    // An answer is of no use once it has expired (never served stale): files unused for a minute, or for the answer's
    // lifetime if longer, are removed, which keeps the folder small on a tmpfs (max_size caps it anyway).
    w.line(`proxy_cache_path ${cachePath} levels=1:2 keys_zone=${AUTH_CACHE_ZONE}:10m max_size=64m inactive=${Math.max(MIN_AUTH_CACHE_INACTIVE_SECONDS, cacheSeconds)}s use_temp_path=off;`);
    w.line();
  }
  w.comment('crowd-sso-proxy: asked about every request, and serving its own endpoints and the apps\' login and logout paths.');
  w.block(`upstream ${SSO_UPSTREAM_NAME}`, () => {
    w.line(`server ${sso.server};`);
    // Room for a burst of questions (the answers of many users expiring together): beyond the idle pool each question
    // opens and closes a connection of its own, at the proxy's expense. The proxy's default keep-alive timeout (65 s)
    // outlasts nginx's (60 s), so nginx does not reuse a connection the proxy is closing.
    w.line('keepalive 64;');
  });
  for (const plan of plans) {
    w.line();
    w.comment(`App "${token(plan.app.name, `apps[${plan.index}].name`)}".`);
    w.block(`upstream ${plan.upstreamName}`, () => {
      w.line(`server ${plan.upstream.server};`);
      w.line('keepalive 64;');
    });
  }
  for (const plan of plans) {
    w.line();
    renderServer(w, plan, { listen, prefix, authPath, sso, cacheSeconds });
  }
  return w.text();
}

function planApp(app: AppConfig, index: number, prefix: string): AppPlan {
  const where = `apps[${index}]`;
  const serverNames = [...new Set(app.hosts.map((host, i) => token(hostName(host), `${where}.hosts[${i}]`)))];
  if (serverNames.length === 0) throw problem(`${where}.hosts`, 'has no host');
  const upstream = upstreamTarget(app.upstream, `${where}.upstream`, true);
  // Paths below the prefix already go to the proxy (its `^~` location).
  const paths = productPaths(app, where, prefix, locationPath);
  return {
    app,
    index,
    serverNames,
    hostVariable: app.hosts.some((host) => /:\d+$/.test(host)) ? '$http_host' : '$host',
    upstreamName: `crowd_sso_app_${index}_${app.name.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`,
    upstream,
    proxyPaths: paths,
  };
}

interface ServerContext {
  readonly listen: string;
  readonly prefix: string;
  readonly authPath: string;
  readonly sso: UpstreamTarget;
  readonly cacheSeconds: number;
}

function renderServer(w: BlockWriter, plan: AppPlan, ctx: ServerContext): void {
  const { app, hostVariable } = plan;
  const ssoPass = `${ctx.sso.scheme}://${SSO_UPSTREAM_NAME}`;
  const tlsToProxy = (): void => {
    if (ctx.sso.scheme !== 'https') return;
    w.line('proxy_ssl_server_name on;');
    w.line(`proxy_ssl_name ${ctx.sso.hostname};`);
  };

  w.comment(`App "${app.name}": ${app.upstream.origin}${plan.upstream.prefix}`);
  w.block('server', () => {
    w.line(`listen ${ctx.listen};`);
    w.line(`server_name ${plan.serverNames.join(' ')};`);
    w.comment('Request bodies of any size are streamed (attachments, git pushes, imports); the app sets its own limits.');
    w.line('client_max_body_size 0;');
    w.line();
    w.comment(
      'Headers for the locations that go to crowd-sso-proxy as a reverse proxy (they define none of their own).',
      'The proxy then forwards to the app itself, removing what a client may not send.',
    );
    w.line('proxy_http_version 1.1;');
    w.line('proxy_set_header Connection "";');
    w.line(`proxy_set_header Host ${hostVariable};`);
    w.line('proxy_set_header X-Forwarded-For $remote_addr;');
    w.line('proxy_set_header X-Forwarded-Proto $scheme;');
    w.line(`proxy_set_header X-Forwarded-Host ${hostVariable};`);
    w.line('proxy_set_header X-Original-URI "";');
    w.line('proxy_set_header X-Original-Method "";');
    w.line();

    w.comment(
      'The authentication subrequest of every request to the app (internal: clients cannot call it). The proxy reads',
      'the original request from these headers and the client\'s own Cookie and Authorization, and answers',
      '200 (X-SSO-Cookie: the Cookie header for the app), 401 (X-SSO-Login: where a browser signs in) or 403.',
    );
    w.block(`location = ${ctx.authPath}`, () => {
      w.line('internal;');
      w.line(`proxy_pass ${ssoPass}${ctx.authPath};`);
      tlsToProxy();
      w.line('proxy_pass_request_body off;');
      w.line('proxy_set_header Content-Length "";');
      w.line('proxy_http_version 1.1;');
      w.line('proxy_set_header Connection "";');
      w.line(`proxy_set_header Host ${hostVariable};`);
      w.line('proxy_set_header X-Original-URI $request_uri;');
      w.line('proxy_set_header X-Original-Method $request_method;');
      w.line('proxy_set_header X-Forwarded-For $remote_addr;');
      w.line('proxy_set_header X-Forwarded-Proto $scheme;');
      w.line(`proxy_set_header X-Forwarded-Host ${hostVariable};`);
      w.line('proxy_set_header X-Request-Id $request_id;');
      w.comment(
        'The answer carries the whole Cookie header back (X-SSO-Cookie), and the cache key holds URI, Cookie and',
        'Authorization: room for each at nginx\'s largest client header line (large_client_header_buffers, 8k).',
      );
      w.line('proxy_buffer_size 32k;');
      w.line('proxy_buffers 4 32k;');
      w.line('proxy_busy_buffers_size 64k;');
      if (ctx.cacheSeconds > 0) {
        w.comment('Allowing answers only (proxy_cache_valid 200); the proxy\'s Cache-Control and Set-Cookie never make a refusal cacheable.');
        w.line(`proxy_cache ${AUTH_CACHE_ZONE};`);
        w.line(`proxy_cache_key "${AUTH_CACHE_KEY}";`);
        w.line(`proxy_cache_valid 200 ${ctx.cacheSeconds}s;`);
        w.line('proxy_ignore_headers Cache-Control Expires X-Accel-Expires Set-Cookie Vary;');
      }
    });
    w.line();

    w.comment(`crowd-sso-proxy's own endpoints (SAML ACS and SLO, login, metadata, health).`);
    w.block(`location ^~ ${ctx.prefix}/`, () => {
      w.line(`proxy_pass ${ssoPass};`);
      tlsToProxy();
    });
    w.block(`location = ${ctx.prefix}`, () => {
      w.line(`proxy_pass ${ssoPass};`);
      tlsToProxy();
    });
    if (plan.proxyPaths.length > 0) {
      w.comment(
        'The app\'s logout, login and login-form paths: through crowd-sso-proxy, which ends the SSO session on logout,',
        'sends a login page to the IdP and keeps password logins closed.',
      );
    }
    for (const path of plan.proxyPaths) {
      w.block(`location = ${path}`, () => {
        w.line(`proxy_pass ${ssoPass};`);
        tlsToProxy();
      });
    }
    w.line();

    w.comment('Everything else: asked about, then forwarded to the app.');
    w.block('location /', () => {
      w.comment(
        `nginx matched this location on the normalized path, but asks about and forwards the raw one: a raw path below`,
        `${ctx.prefix}/ that normalizes elsewhere (${ctx.prefix}/../browse/X-1) would be judged as one of the proxy's own endpoints.`,
      );
      w.block(`if ($request_uri ~ "^${regexEscape(ctx.prefix)}(?:[/?]|$)")`, () => {
        w.line('return 404;');
      });
      w.line(`auth_request ${ctx.authPath};`);
      w.line('auth_request_set $sso_cookie $upstream_http_x_sso_cookie;');
      w.line('auth_request_set $sso_login $upstream_http_x_sso_login;');
      w.comment('The proxy\'s challenge and the Crowd user name, for a log_format (nginx passes the challenge on a 401 itself).');
      w.line('auth_request_set $sso_www $upstream_http_www_authenticate;');
      w.line('auth_request_set $sso_user $upstream_http_x_sso_user;');
      w.line('error_page 401 = @sso_login;');
      w.line();
      const pass = `${plan.upstream.scheme}://${plan.upstreamName}`;
      // With a path prefix the URI is given as a variable, so nginx sends the client's raw URI after it.
      w.line(`proxy_pass ${plan.upstream.prefix === '' ? pass : `${pass}${plan.upstream.prefix}$request_uri`};`);
      if (plan.upstream.scheme === 'https') {
        w.line('proxy_ssl_server_name on;');
        w.line(`proxy_ssl_name ${plan.upstream.hostname};`);
      }
      const timeout = Math.max(1, Math.ceil(app.upstreamTimeoutMs / 1000));
      w.line(`proxy_read_timeout ${timeout}s;`);
      w.line(`proxy_send_timeout ${timeout}s;`);
      w.comment('Streaming both ways: uploads are not buffered to disk first, large downloads are not held.');
      w.line('proxy_request_buffering off;');
      w.line('proxy_buffering off;');
      w.comment('Response headers up to 16k, as the proxy itself accepts from an app (Node.js\'s header limit).');
      w.line('proxy_buffer_size 16k;');
      w.line('proxy_buffers 8 16k;');
      w.line('proxy_busy_buffers_size 32k;');
      w.line('proxy_http_version 1.1;');
      w.line('proxy_set_header Upgrade $sso_upgrade;');
      w.line('proxy_set_header Connection $sso_connection_upgrade;');
      w.comment('Exactly the Cookie header the proxy vetted: at most one valid Crowd cookie (empty: no Cookie header).');
      w.line('proxy_set_header Cookie $sso_cookie;');
      w.line(`proxy_set_header Host ${hostVariable};`);
      w.line('proxy_set_header X-Forwarded-For $remote_addr;');
      w.line('proxy_set_header X-Forwarded-Proto $scheme;');
      w.line(`proxy_set_header X-Forwarded-Host ${hostVariable};`);
      w.line('proxy_set_header X-Request-Id $request_id;');
      w.comment('Forwarding, method-override and identity headers a client may not hand to the app, removed.');
      const cleared = [...CLIENT_HEADERS_REMOVED.filter((name) => !FORWARDING_SET.has(name)), ...HOP_BY_HOP_CLEARED, ...SSO_ANSWER_HEADERS];
      for (const name of [...new Set(cleared)]) w.line(`proxy_set_header ${headerName(name)} "";`);
    });
    w.line();

    w.comment(
      'The proxy\'s 401: a browser is sent to sign in (302 to X-SSO-Login, a path on this host); any other client gets',
      'the 401 with the proxy\'s challenge (git needs WWW-Authenticate to send credentials). auth_request itself copies',
      'the WWW-Authenticate of a 401 answer to the response, and it survives error_page: an add_header would send it twice.',
    );
    w.block('location @sso_login', () => {
      w.comment('X-SSO-Login is a path: the Location stays relative, so it keeps the host and port the browser used.');
      w.line('absolute_redirect off;');
      w.block('if ($sso_login)', () => {
        w.line('return 302 $sso_login;');
      });
      w.line('return 401;');
    });
  });
}
