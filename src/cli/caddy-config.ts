/**
 * The Caddyfile that puts an existing Caddy (2.6 or later) in front of the apps, with crowd-sso-proxy as its
 * authentication service (forward-auth: Caddy's `forward_auth` asks `<pathPrefix>/auth?redirect=1` about every
 * request, and Caddy forwards to the app itself).
 *
 * What stays with the proxy, as ordinary `reverse_proxy` routes: its own endpoints (`<pathPrefix>/…`), and the apps'
 * logout, login and login-form paths and emergency access path, whose answers the proxy rewrites or refuses (which a
 * forward-auth answer cannot do).
 *
 * The Cookie header the app receives is the one the proxy vetted (`X-SSO-Cookie` of the auth answer: at most one
 * valid Crowd cookie), never the client's own. Every value that goes into the text is checked: a character the
 * Caddyfile reads as syntax (whitespace, quotes, `{`, `}`, `#`, …) is refused with a ConfigError naming the value.
 */
import { CLIENT_HEADERS_REMOVED } from '../proxy/upstream-headers.js';
import type { AppConfig, RuntimeConfig } from '../config/runtime-config.js';
import { ConfigError } from '../errors.js';

export interface CaddyConfigOptions {
  /** Where Caddy reaches crowd-sso-proxy: `http://127.0.0.1:8080` (scheme, host, port; no path). */
  readonly ssoUpstream: string;
}

/** Forwarding headers Caddy's reverse_proxy sets itself on every request (so the client's never pass). */
const FORWARDING_SET = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);
/** Hop-by-hop headers a client may not hand to the app (RFC 9110 §7.6.1); Caddy handles Upgrade and Connection. */
const HOP_BY_HOP_CLEARED = ['proxy-authorization', 'proxy-connection', 'http2-settings'];
/** Headers of the forward-auth answer: a client sending them gets them removed before the proxy is asked. */
const SSO_ANSWER_HEADERS = ['x-sso-user', 'x-sso-cookie', 'x-sso-login'];

/** `x-forwarded-for` → `X-Forwarded-For` (Caddy's placeholders for response headers use the canonical spelling). */
function headerName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => `${dash}${letter.toUpperCase()}`);
}

function problem(path: string, message: string): ConfigError {
  return new ConfigError([{ path, message }]);
}

/**
 * Refuses a value the Caddyfile would read as more than one plain token: whitespace and control characters (token
 * ends), quotes, backquotes and `\` (string syntax), `{` `}` (blocks and placeholders), `#` (comments), and anything
 * outside printable ASCII.
 */
function token(value: string, what: string): string {
  if (value === '') throw problem(what, 'is empty');
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (code <= 0x20 || code >= 0x7f || '{}"\'`\\#'.includes(char)) {
      const shown = code <= 0x20 || code >= 0x7f ? `U+${code.toString(16).toUpperCase().padStart(4, '0')}` : `"${char}"`;
      throw problem(what, `"${value}" cannot be written into a Caddyfile: it contains ${shown}`);
    }
  }
  return value;
}

/**
 * A path Caddy's `path` matcher compares exactly: checked as a token, without `*` (a wildcard there) and without
 * percent-encoding (Caddy matches the decoded path).
 */
function matchPath(path: string, what: string): string {
  token(path, what);
  if (!path.startsWith('/')) throw problem(what, `"${path}" must start with "/"`);
  if (path.includes('*')) throw problem(what, `"${path}": "*" is a wildcard in a Caddy path matcher`);
  if (path.includes('%')) throw problem(what, `"${path}": Caddy matches paths decoded, so a percent-encoded path would never match; write it decoded`);
  return path;
}

interface UpstreamTarget {
  /** `http://host:port` or `https://host:port`, as reverse_proxy takes it. */
  readonly address: string;
  /** Path prefix without trailing slash ('' for none). */
  readonly prefix: string;
}

function upstreamTarget(url: URL, what: string, allowPath: boolean): UpstreamTarget {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw problem(what, `"${url.href}" must be an http:// or https:// URL`);
  if (url.username !== '' || url.password !== '') throw problem(what, `"${url.origin}": credentials in the URL cannot be used by Caddy`);
  if (url.search !== '' || url.hash !== '') throw problem(what, `"${url.href}" must not have a query or fragment`);
  const prefix = url.pathname.replace(/\/+$/, '');
  if (!allowPath && prefix !== '') throw problem(what, `"${url.href}" must not have a path (scheme, host and port only)`);
  if (prefix.includes('%')) throw problem(what, `"${url.href}": a percent-encoded path prefix is not supported`);
  const scheme = url.protocol.slice(0, -1);
  const port = url.port !== '' ? url.port : scheme === 'https' ? '443' : '80';
  token(url.hostname, what);
  if (prefix !== '') token(prefix, what);
  return { address: `${scheme}://${url.hostname}:${port}`, prefix };
}

class Writer {
  readonly #lines: string[] = [];
  #depth = 0;

  line(text = ''): this {
    this.#lines.push(text === '' ? '' : `${'\t'.repeat(this.#depth)}${text}`);
    return this;
  }

  comment(...texts: string[]): this {
    for (const text of texts) this.line(`# ${text}`);
    return this;
  }

  block(head: string, body: () => void): this {
    this.line(`${head} {`);
    this.#depth += 1;
    body();
    this.#depth -= 1;
    return this.line('}');
  }

  text(): string {
    return `${this.#lines.join('\n')}\n`;
  }
}

interface AppPlan {
  readonly app: AppConfig;
  readonly index: number;
  readonly hosts: readonly string[];
  readonly snippet: string;
  readonly upstream: UpstreamTarget;
  /** Exact paths Caddy hands to the proxy as a reverse proxy (besides `<pathPrefix>` and `<pathPrefix>/*`). */
  readonly proxyPaths: readonly string[];
}

/**
 * The Caddyfile for `config`: a snippet per app and a site block per app host, asking the proxy at
 * `options.ssoUpstream` about every request. Throws ConfigError for a value Caddy cannot take.
 */
export function renderCaddyConfig(config: RuntimeConfig, options: CaddyConfigOptions): string {
  let ssoUrl: URL;
  try {
    ssoUrl = new URL(options.ssoUpstream);
  } catch {
    throw problem('--sso-upstream', `"${options.ssoUpstream}" is not a URL; give where Caddy reaches crowd-sso-proxy, e.g. http://127.0.0.1:8080`);
  }
  const sso = upstreamTarget(ssoUrl, '--sso-upstream', false);
  const prefix = matchPath(config.pathPrefix, 'pathPrefix');
  const authPath = `${prefix}/auth`;

  const plans = config.apps.map((app, index) => planApp(app, index, prefix));
  const seen = new Map<string, string>();
  for (const plan of plans) {
    for (const host of plan.hosts) {
      const other = seen.get(host.toLowerCase());
      if (other !== undefined && other !== plan.app.name) throw problem(`apps[${plan.index}].hosts`, `the host "${host}" is also a host of app "${other}"`);
      seen.set(host.toLowerCase(), plan.app.name);
    }
  }

  const w = new Writer();
  w.comment(
    'crowd-sso-proxy in forward-auth mode: generated by `crowd-sso-proxy caddy-config`; regenerate it when apps,',
    'their hosts, upstreams, login or logout paths, or pathPrefix change. For Caddy 2.6 or later.',
    'Use it as the Caddyfile, or import it from yours (global options stay in yours). crowd-sso-proxy must list the',
    `address Caddy connects from in trustedProxies, else it answers every ${prefix}/auth request with 403.`,
  );
  if (config.publicScheme === 'https') {
    w.comment('The public scheme is https: Caddy serves the sites below with automatic HTTPS (certificates it obtains).');
  }
  for (const plan of plans) {
    w.line();
    renderSnippet(w, plan, { prefix, authPath, sso });
  }
  for (const plan of plans) {
    for (const host of plan.hosts) {
      w.line();
      w.block(config.publicScheme === 'http' ? `http://${host}` : host, () => {
        w.line(`import ${plan.snippet}`);
      });
    }
  }
  return w.text();
}

function planApp(app: AppConfig, index: number, prefix: string): AppPlan {
  const where = `apps[${index}]`;
  const hosts = [...new Set(app.hosts.map((host, i) => token(host, `${where}.hosts[${i}]`)))];
  if (hosts.length === 0) throw problem(`${where}.hosts`, 'has no host');
  const upstream = upstreamTarget(app.upstream, `${where}.upstream`, true);
  const paths: string[] = [];
  const add = (list: readonly string[], key: string): void => {
    list.forEach((path, i) => {
      matchPath(path, `${where}.${key}[${i}]`);
      // Paths below the prefix already go to the proxy.
      if (path === prefix || path.startsWith(`${prefix}/`)) return;
      if (!paths.includes(path)) paths.push(path);
    });
  };
  add(app.logoutPaths, 'logoutPaths');
  add(app.loginPaths, 'loginPaths');
  add(app.loginFormPaths, 'loginFormPaths');
  if (app.emergencyAccess !== undefined) {
    add([app.emergencyAccess.path], 'emergencyAccess.path');
    add(app.emergencyAccess.loginFormPaths, 'emergencyAccess.loginFormPaths');
  }
  return {
    app,
    index,
    hosts,
    snippet: `crowd_sso_app_${index}_${app.name.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`,
    upstream,
    proxyPaths: paths,
  };
}

interface SnippetContext {
  readonly prefix: string;
  readonly authPath: string;
  readonly sso: UpstreamTarget;
}

function renderSnippet(w: Writer, plan: AppPlan, ctx: SnippetContext): void {
  const { app } = plan;
  w.comment(`App "${token(app.name, `apps[${plan.index}].name`)}": ${app.upstream.origin}${plan.upstream.prefix}`);
  w.block(`(${plan.snippet})`, () => {
    w.comment(
      'The auth endpoint is for Caddy\'s forward_auth only: a client cannot ask about requests of its own making.',
      '(Before the next handle: the first handle that matches is the one that runs.)',
    );
    w.line(`@crowd_sso_auth path ${ctx.authPath}`);
    w.block('handle @crowd_sso_auth', () => {
      w.line('respond 404');
    });
    w.comment(
      'crowd-sso-proxy\'s own endpoints (SAML ACS and SLO, login, metadata, health), and the app\'s logout, login and',
      'login-form paths: through crowd-sso-proxy, which forwards to the app itself (it ends the SSO session on logout,',
      'sends a login page to the IdP and keeps password logins closed). Caddy matches these paths ignoring case.',
    );
    w.line(`@crowd_sso path ${[ctx.prefix, `${ctx.prefix}/*`, ...plan.proxyPaths].join(' ')}`);
    w.block('handle @crowd_sso', () => {
      w.line(`reverse_proxy ${ctx.sso.address}`);
    });
    w.line();
    w.comment('Everything else: asked about, then forwarded to the app (route: in exactly this order).');
    w.block('handle', () => {
      w.block('route', () => {
        w.comment(
          'Forwarding, method-override and identity headers a client may not hand to the app, and the auth answer\'s',
          'own headers (so only the proxy\'s answer can set them), removed first.',
        );
        const cleared = [...CLIENT_HEADERS_REMOVED.filter((name) => !FORWARDING_SET.has(name)), ...HOP_BY_HOP_CLEARED, ...SSO_ANSWER_HEADERS];
        for (const name of [...new Set(cleared)]) w.line(`request_header -${headerName(name)}`);
        w.line();
        w.comment(
          'The proxy gets the client\'s Cookie and Authorization and X-Forwarded-Method/-Uri/-Host, and answers 200',
          '(X-SSO-Cookie: the Cookie header for the app, X-SSO-User: the Crowd user), a 302 to the login start',
          '(browsers), or 401/403, which Caddy passes to the client as they are.',
        );
        w.block(`forward_auth ${ctx.sso.address}`, () => {
          w.line(`uri ${ctx.authPath}?redirect=1`);
          w.line('copy_headers X-SSO-Cookie X-SSO-User');
        });
        w.comment(
          'A header the answer does not have (X-SSO-User without a session): Caddy 2.6 copies the placeholder itself as',
          'its value (later versions copy nothing), and that text is removed.',
        );
        for (const [matcher, header] of [['@crowd_sso_no_user', 'X-SSO-User'], ['@crowd_sso_no_cookie', 'X-SSO-Cookie']] as const) {
          w.line(`${matcher} header_regexp ${header} ^\\{http\\.reverse_proxy\\.header\\.`);
          w.line(`request_header ${matcher} -${header}`);
        }
        w.comment(
          'Exactly the Cookie header the proxy vetted: at most one valid Crowd cookie (empty: no cookies), never the',
          'client\'s own. Set from the copied header, which works alike whether Caddy copies an empty value or skips it.',
        );
        w.line('request_header Cookie {http.request.header.X-SSO-Cookie}');
        w.line('request_header -X-SSO-Cookie');
        if (plan.upstream.prefix !== '') {
          w.comment(`The app lives below ${plan.upstream.prefix} on its upstream.`);
          w.line(`rewrite * ${plan.upstream.prefix}{http.request.uri}`);
        }
        w.block(`reverse_proxy ${plan.upstream.address}`, () => {
          const timeout = Math.max(1, Math.ceil(app.upstreamTimeoutMs / 1000));
          w.comment('Responses are streamed as they come (large downloads, long polls); request bodies are never buffered.');
          w.line('flush_interval -1');
          w.block('transport http', () => {
            w.line(`response_header_timeout ${timeout}s`);
          });
        });
      });
    });
  });
}
