/**
 * The Traefik (v2 or v3) dynamic configuration, for the file provider (YAML), that puts an existing Traefik in front of
 * the apps with crowd-sso-proxy as its authentication service (forward-auth: Traefik's `forwardAuth` middleware asks
 * `<pathPrefix>/auth?redirect=1` about every request, and Traefik forwards to the app itself).
 *
 * What stays with the proxy, as ordinary routers of higher priority: its own endpoints (`<pathPrefix>/…`), and the
 * apps' logout, login and login-form paths and emergency access path, whose answers the proxy rewrites or refuses
 * (which a forward-auth answer cannot do).
 *
 * Two limits of Traefik's forwardAuth, and how the proxy meets them (said in the output too):
 * - It copies the answer's headers onto the request only under their own names (`authResponseHeaders`: delete, then
 *   copy), so with `?redirect=1` the proxy also answers the vetted Cookie header as `Cookie`, which is listed there.
 * - It resolves a relative `Location` of the answer against its `address` (traefik/traefik#11313), so the proxy's
 *   redirect to the login start is an absolute URL on the app host.
 *
 * The YAML is written by hand: every string double-quoted (JSON string syntax, which YAML reads the same), names from
 * a fixed alphabet. Values Traefik's rule syntax would read as syntax (backquotes, whitespace, …) are refused with a
 * ConfigError naming the value.
 */
import { CLIENT_HEADERS_REMOVED } from '../proxy/upstream-headers.js';
import type { AppConfig, RuntimeConfig } from '../config/runtime-config.js';
import { checkMatchPath, checkToken, configProblem, headerName, hostName, productPaths, SSO_ANSWER_HEADERS, upstreamParts, type EdgeSyntax } from './edge-config.js';

export interface TraefikConfigOptions {
  /** Where Traefik reaches crowd-sso-proxy: `http://127.0.0.1:8080` (scheme, host, port; no path). */
  readonly ssoUpstream: string;
  /** The entry points the routers listen on; default: all of Traefik's entry points. */
  readonly entryPoints?: readonly string[] | undefined;
  /** Routers for TLS requests only (`tls: {}`), Traefik terminating TLS; default: when publicScheme is https. */
  readonly tls?: boolean | undefined;
}

/** Router priorities: the proxy's paths above the app's catch-all host rule. */
export const SSO_ROUTER_PRIORITY = 200;
export const APP_ROUTER_PRIORITY = 100;

const SSO_SERVICE = 'crowd-sso-proxy';
const AUTH_MIDDLEWARE = 'crowd-sso-auth';
const CLEAR_MIDDLEWARE = 'crowd-sso-clear-client-headers';

/**
 * Headers Traefik itself sets on every forwarded request (at the entry point, replacing a client's, unless the
 * client is in forwardedHeaders.trustedIPs), so the clearing middleware leaves them.
 */
const SET_BY_TRAEFIK = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-server', 'x-forwarded-prefix', 'x-real-ip']);

/**
 * What cannot stand inside a backquoted argument of a Traefik rule, or in a URL Traefik parses: whitespace and
 * control characters, backquotes and quotes, `\`.
 */
const TRAEFIK: EdgeSyntax = { fileName: 'a Traefik configuration', tool: 'Traefik', forbidden: '`"\'\\' };
const token = (value: string, what: string): string => checkToken(TRAEFIK, value, what);
const problem = configProblem;
const matchPath = (path: string, what: string): string => checkMatchPath(TRAEFIK, path, what);

interface UpstreamTarget {
  /** `http://host:port` or `https://host:port`. */
  readonly url: string;
  /** Path prefix without trailing slash ('' for none). */
  readonly prefix: string;
}

function upstreamTarget(url: URL, what: string, allowPath: boolean): UpstreamTarget {
  const { scheme, hostname, port, prefix } = upstreamParts(TRAEFIK, url, what, allowPath);
  return { url: url.port === '' ? `${scheme}://${hostname}` : `${scheme}://${hostname}:${port}`, prefix };
}

/** A YAML double-quoted scalar: JSON string syntax, which YAML reads the same. */
const quoted = (value: string): string => JSON.stringify(value);

class YamlWriter {
  readonly #lines: string[] = [];
  #depth = 0;

  comment(...texts: string[]): this {
    for (const text of texts) this.#lines.push(`${'  '.repeat(this.#depth)}#${text === '' ? '' : ` ${text}`}`);
    return this;
  }

  blank(): this {
    this.#lines.push('');
    return this;
  }

  /** `key: value` (strings quoted, numbers and booleans plain, `{}` for an empty map). */
  value(key: string, value: string | number | boolean | Record<string, never>): this {
    const shown = typeof value === 'string' ? quoted(value) : typeof value === 'object' ? '{}' : String(value);
    this.#lines.push(`${'  '.repeat(this.#depth)}${key}: ${shown}`);
    return this;
  }

  /** `key:` and its items, `- "item"` each. */
  list(key: string, items: readonly string[]): this {
    this.#lines.push(`${'  '.repeat(this.#depth)}${key}:`);
    for (const item of items) this.#lines.push(`${'  '.repeat(this.#depth + 1)}- ${quoted(item)}`);
    return this;
  }

  /** `key:` and one `- url: "…"`-style item per entry (a list of one-key maps). */
  entries(key: string, field: string, values: readonly string[]): this {
    this.#lines.push(`${'  '.repeat(this.#depth)}${key}:`);
    for (const value of values) this.#lines.push(`${'  '.repeat(this.#depth + 1)}- ${field}: ${quoted(value)}`);
    return this;
  }

  map(key: string, body: () => void): this {
    this.#lines.push(`${'  '.repeat(this.#depth)}${key}:`);
    this.#depth += 1;
    body();
    this.#depth -= 1;
    return this;
  }

  text(): string {
    return `${this.#lines.join('\n')}\n`;
  }
}

interface AppPlan {
  readonly app: AppConfig;
  readonly index: number;
  /** `crowd-sso-app-<index>-<name>`: the app's router, service and servers transport. */
  readonly name: string;
  readonly hosts: readonly string[];
  readonly upstream: UpstreamTarget;
  /** Exact paths Traefik hands to the proxy (besides `<pathPrefix>` and everything below it). */
  readonly proxyPaths: readonly string[];
}

/**
 * The dynamic configuration for `config`: per app a router for its hosts behind the forwardAuth middleware, and a
 * router of higher priority sending the proxy's paths to the proxy at `options.ssoUpstream`. Throws ConfigError for a
 * value Traefik cannot take.
 */
export function renderTraefikConfig(config: RuntimeConfig, options: TraefikConfigOptions): string {
  let ssoUrl: URL;
  try {
    ssoUrl = new URL(options.ssoUpstream);
  } catch {
    throw problem('--sso-upstream', `"${options.ssoUpstream}" is not a URL; give where Traefik reaches crowd-sso-proxy, e.g. http://127.0.0.1:8080`);
  }
  const sso = upstreamTarget(ssoUrl, '--sso-upstream', false);
  const entryPoints = (options.entryPoints ?? []).map((name, i) => {
    if (!/^[A-Za-z0-9_-]+$/.test(name)) throw problem(`--entry-points[${i}]`, `"${name}" is not an entry point name (letters, digits, "-", "_")`);
    return name;
  });
  const tls = options.tls ?? config.publicScheme === 'https';
  const prefix = matchPath(config.pathPrefix, 'pathPrefix');
  const authAddress = `${sso.url}${prefix}/auth?redirect=1`;

  const plans = config.apps.map((app, index) => planApp(app, index, prefix));
  const seen = new Map<string, string>();
  for (const plan of plans) {
    for (const host of plan.hosts) {
      const other = seen.get(host);
      if (other !== undefined && other !== plan.app.name) {
        throw problem(`apps[${plan.index}].hosts`, `the host name "${host}" is also a host of app "${other}": Traefik's Host rule compares the host without the port`);
      }
      seen.set(host, plan.app.name);
    }
  }

  const w = new YamlWriter();
  w.comment(
    'crowd-sso-proxy in forward-auth mode: generated by `crowd-sso-proxy traefik-config`; regenerate it when apps,',
    'their hosts, upstreams, login or logout paths, or pathPrefix change. A dynamic configuration for Traefik v2 or v3',
    '(file provider). crowd-sso-proxy must list the address Traefik connects from in trustedProxies, else it answers',
    `every ${prefix}/auth request with 403.`,
    '',
    'How the session reaches the app: Traefik copies an auth answer header onto the request only under its own name',
    '(authResponseHeaders: delete, then copy), so with ?redirect=1 crowd-sso-proxy answers the vetted Cookie header',
    '(exactly one valid Crowd cookie, or none) as Cookie too, and Cookie is listed below: the app gets that one, never',
    'the client\'s. The Crowd user arrives as X-SSO-User. The login redirect is an absolute URL on the app host',
    '(Traefik resolves a relative Location against the forwardAuth address, traefik/traefik#11313).',
  );
  if (tls) w.comment('The routers take TLS requests only (tls: {}): Traefik terminates TLS with its own certificates.');
  w.map('http', () => {
    w.map('routers', () => {
      for (const plan of plans) renderRouters(w, plan, { prefix, entryPoints, tls });
    });
    w.blank();
    w.map('middlewares', () => {
      w.comment(
        'Asks crowd-sso-proxy about every request (X-Forwarded-Method/-Proto/-Host/-Uri/-For, with the client\'s Cookie',
        'and Authorization): 200 lets it through, anything else (302 to the login start, 401, 403) goes to the client.',
        'trustForwardHeader: false: the client\'s own X-Forwarded-* never describe the request to the proxy.',
      );
      w.map(AUTH_MIDDLEWARE, () => {
        w.map('forwardAuth', () => {
          w.value('address', authAddress);
          w.value('trustForwardHeader', false);
          w.comment('Each removed from the request, then set from the answer (never the client\'s): Cookie is the vetted one.');
          w.list('authResponseHeaders', ['Cookie', 'X-SSO-Cookie', 'X-SSO-User']);
        });
      });
      w.comment(
        'Forwarding, method-override and identity headers a client may not hand to the app, and the auth answer\'s',
        'own headers, removed before the proxy is asked (an empty value removes a header).',
      );
      w.map(CLEAR_MIDDLEWARE, () => {
        w.map('headers', () => {
          w.map('customRequestHeaders', () => {
            const cleared = [...CLIENT_HEADERS_REMOVED.filter((name) => !SET_BY_TRAEFIK.has(name)), ...SSO_ANSWER_HEADERS];
            for (const name of [...new Set(cleared)]) w.value(headerName(name), '');
          });
        });
      });
      for (const plan of plans) {
        if (plan.upstream.prefix === '') continue;
        w.comment(`App "${plan.app.name}" lives below ${plan.upstream.prefix} on its upstream (Traefik ignores a path in a server URL).`);
        w.map(`${plan.name}-prefix`, () => {
          w.map('addPrefix', () => {
            w.value('prefix', plan.upstream.prefix);
          });
        });
      }
    });
    w.blank();
    w.map('services', () => {
      w.comment('crowd-sso-proxy: its own endpoints and the apps\' login and logout paths (it forwards those to the app).');
      w.map(SSO_SERVICE, () => {
        w.map('loadBalancer', () => {
          w.value('passHostHeader', true);
          w.entries('servers', 'url', [sso.url]);
        });
      });
      for (const plan of plans) {
        w.map(plan.name, () => {
          w.map('loadBalancer', () => {
            w.value('passHostHeader', true);
            w.value('serversTransport', plan.name);
            w.entries('servers', 'url', [plan.upstream.url]);
          });
        });
      }
    });
    w.blank();
    w.map('serversTransports', () => {
      for (const plan of plans) {
        w.map(plan.name, () => {
          w.map('forwardingTimeouts', () => {
            w.value('responseHeaderTimeout', `${Math.max(1, Math.ceil(plan.app.upstreamTimeoutMs / 1000))}s`);
          });
        });
      }
    });
  });
  return w.text();
}

function planApp(app: AppConfig, index: number, prefix: string): AppPlan {
  const where = `apps[${index}]`;
  const hosts = [...new Set(app.hosts.map((host, i) => token(hostName(host), `${where}.hosts[${i}]`)))];
  if (hosts.length === 0) throw problem(`${where}.hosts`, 'has no host');
  const upstream = upstreamTarget(app.upstream, `${where}.upstream`, true);
  const paths = productPaths(app, where, prefix, matchPath);
  token(app.name, `${where}.name`);
  return { app, index, name: `crowd-sso-app-${index}-${app.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`, hosts, upstream, proxyPaths: paths };
}

interface RouterContext {
  readonly prefix: string;
  readonly entryPoints: readonly string[];
  readonly tls: boolean;
}

function renderRouters(w: YamlWriter, plan: AppPlan, ctx: RouterContext): void {
  const hostRule = plan.hosts.map((host) => `Host(\`${host}\`)`).join(' || ');
  const hosts = plan.hosts.length > 1 ? `(${hostRule})` : hostRule;
  const paths = [`Path(\`${ctx.prefix}\`)`, `PathPrefix(\`${ctx.prefix}/\`)`, ...plan.proxyPaths.map((path) => `Path(\`${path}\`)`)];
  const common = (): void => {
    if (ctx.entryPoints.length > 0) w.list('entryPoints', ctx.entryPoints);
    if (ctx.tls) w.value('tls', {});
  };

  w.comment(
    `App "${plan.app.name}": ${plan.app.upstream.origin}${plan.upstream.prefix}. The proxy's endpoints (SAML ACS and SLO, login,`,
    'metadata, health) and the app\'s logout, login and login-form paths go to crowd-sso-proxy, which ends the SSO',
    'session on logout, sends a login page to the IdP and keeps password logins closed.',
  );
  w.map(`${plan.name}-sso`, () => {
    w.value('rule', `${hosts} && (${paths.join(' || ')})`);
    w.value('priority', SSO_ROUTER_PRIORITY);
    w.comment(
      `Cleared here too: a client calling ${ctx.prefix}/auth itself cannot describe a request of its own making to the`,
      'proxy (Traefik removes a client\'s X-Forwarded-Uri/-Method; this removes X-Original-URI/-Method), which answers 400.',
    );
    w.list('middlewares', [CLEAR_MIDDLEWARE]);
    w.value('service', SSO_SERVICE);
    common();
  });
  w.comment('Everything else: asked about, then forwarded to the app.');
  w.map(plan.name, () => {
    w.value('rule', hostRule);
    w.value('priority', APP_ROUTER_PRIORITY);
    w.list('middlewares', [CLEAR_MIDDLEWARE, AUTH_MIDDLEWARE, ...(plan.upstream.prefix === '' ? [] : [`${plan.name}-prefix`])]);
    w.value('service', plan.name);
    common();
  });
}
