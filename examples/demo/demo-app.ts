/**
 * A tiny stand-in for Jira or Confluence with Crowd SSO switched on. Like the real apps it reads
 * the first non-empty Crowd cookie, validates it with `POST /session/{token}` using the factors
 * Atlassian's Java client computes (`remote_address` = TCP peer, `X-Forwarded-For` = the raw
 * header when it differs), sets the cookie again after a successful validation, and on logout
 * deletes the Crowd session (a global logout) and clears the cookie.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoAppOptions {
  /** Shown on every page; a title containing "Confluence" gives Confluence's URLs, anything else Jira's. */
  title: string;
  /** Crowd base URL with its context path (`http://127.0.0.1:4990/crowd`). */
  crowdBaseUrl: string;
  applicationName: string;
  applicationPassword: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Send a request without a valid session to the login page (`/login.jsp?os_destination=…`), as the real apps do for pages that need one. Default false: show the page as anonymous. */
  redirectAnonymousToLogin?: boolean;
}

export interface DemoApp {
  readonly url: string;
  close(): Promise<void>;
}

interface CookieSettings {
  readonly name: string;
  readonly attributes: string;
}

type Validation = { readonly kind: 'user'; readonly user: string } | { readonly kind: 'anonymous' } | { readonly kind: 'crowd-down' };

const CROWD_TIMEOUT_MS = 5_000;
const COOKIE_CONFIG_TTL_MS = 60_000;
const DEFAULT_COOKIE_NAME = 'crowd.token_key';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The first non-empty cookie called `name`, as the Java client reads it. */
function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      if (value !== '') return value;
    }
  }
  return undefined;
}

function tomcatRemoteAddr(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? '').replace(/%.*$/, '').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
}

export async function startDemoApp(options: DemoAppOptions): Promise<DemoApp> {
  const confluence = /confluence/i.test(options.title);
  const loginPath = confluence ? '/login.action' : '/login.jsp';
  // The app's own logout URL (what its "Log out" link points to), plus a short alias.
  const logoutPath = confluence ? '/logout.action' : '/secure/Logout!default.jspa';
  const logoutPaths = new Set(['/logout', logoutPath]);
  const restBase = `${options.crowdBaseUrl.replace(/\/+$/, '')}/rest/usermanagement/1`;
  const authorization = `Basic ${Buffer.from(`${options.applicationName}:${options.applicationPassword}`).toString('base64')}`;
  let cookieCache: { settings: CookieSettings; expiresAtMs: number } | undefined;

  /** One Crowd REST call; the body is always read so the connection can be reused. */
  const crowd = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    const response = await fetch(`${restBase}${path}`, {
      method,
      headers: { authorization, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(CROWD_TIMEOUT_MS),
      redirect: 'manual',
    });
    const text = await response.text();
    const isJson = (response.headers.get('content-type') ?? '').includes('json') && text !== '';
    return { status: response.status, json: isJson ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  const cookieSettings = async (): Promise<CookieSettings> => {
    if (cookieCache !== undefined && cookieCache.expiresAtMs > Date.now()) return cookieCache.settings;
    const { status, json } = await crowd('GET', '/config/cookie');
    if (status !== 200) throw new Error(`Crowd answered ${status} to GET /config/cookie`);
    const domain = typeof json['domain'] === 'string' ? json['domain'].trim().replace(/^\./, '') : '';
    const hasDomain = domain !== '' && domain.toLowerCase() !== 'localhost';
    const name = json['name'];
    const settings = {
      name: typeof name === 'string' && name !== '' ? name : DEFAULT_COOKIE_NAME,
      attributes: `; Path=/${hasDomain ? `; Domain=${domain}` : ''}${json['secure'] === true ? '; Secure' : ''}; HttpOnly`,
    };
    cookieCache = { settings, expiresAtMs: Date.now() + COOKIE_CONFIG_TTL_MS };
    return settings;
  };

  const validate = async (token: string, req: IncomingMessage): Promise<Validation> => {
    const remoteAddress = tomcatRemoteAddr(req);
    const factors = [{ name: 'remote_address', value: remoteAddress }];
    const header = req.headers['x-forwarded-for'];
    const forwarded = Array.isArray(header) ? header.join(', ') : header;
    if (forwarded !== undefined && forwarded !== remoteAddress) factors.push({ name: 'X-Forwarded-For', value: forwarded });
    const { status, json } = await crowd('POST', `/session/${encodeURIComponent(token)}`, { validationFactors: factors });
    if (status >= 500) return { kind: 'crowd-down' };
    const user = json['user'];
    const name = status === 200 && typeof user === 'object' && user !== null ? (user as { name?: unknown }).name : undefined;
    return typeof name === 'string' ? { kind: 'user', user: name } : { kind: 'anonymous' };
  };

  const page = (res: ServerResponse, status: number, heading: string, body: string, headers: Record<string, string | string[]> = {}): void => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers });
    res.end(
      `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(options.title)}</title></head>` +
        `<body style="font-family:sans-serif;margin:2em"><h1>${escapeHtml(options.title)}</h1><h2>${escapeHtml(heading)}</h2>${body}</body></html>`,
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const target = req.url ?? '/';
    const path = target.replace(/\?.*$/, '');
    let cookie: CookieSettings;
    let state: Validation = { kind: 'anonymous' };
    let token: string | undefined;
    try {
      cookie = await cookieSettings();
      token = readCookie(req.headers.cookie, cookie.name);
      if (token !== undefined) state = await validate(token, req);
    } catch {
      cookie = { name: DEFAULT_COOKIE_NAME, attributes: '; Path=/; HttpOnly' };
      state = { kind: 'crowd-down' };
    }

    if (logoutPaths.has(path)) {
      if (token !== undefined) await crowd('DELETE', `/session/${encodeURIComponent(token)}`).catch(() => undefined);
      const clear = `${cookie.name}=${cookie.attributes}; Max-Age=0`;
      page(res, 200, 'You are now logged out', `<p>Any automatic login has also been stopped.</p><p><a href="/">Home</a></p>`, { 'set-cookie': clear });
      return;
    }

    const refreshed: Record<string, string> = state.kind === 'user' && token !== undefined ? { 'set-cookie': `${cookie.name}=${token}${cookie.attributes}` } : {};
    if (path === '/rest/api/whoami') {
      const status = state.kind === 'user' ? 200 : 401;
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...refreshed });
      res.end(JSON.stringify(state.kind === 'user' ? { user: state.user } : { user: null, error: 'Not logged in' }));
      return;
    }

    if (options.redirectAnonymousToLogin === true && state.kind !== 'user' && path !== loginPath) {
      res.writeHead(302, { location: `${loginPath}?os_destination=${encodeURIComponent(target)}`, 'cache-control': 'no-store' });
      res.end();
      return;
    }
    const who =
      state.kind === 'user'
        ? `<p id="user">Logged in as <b>${escapeHtml(state.user)}</b></p><p><a href="${logoutPath}">Log out</a></p>`
        : `<p id="user">Not logged in</p><p><a href="${loginPath}">Log in</a></p>` +
          (state.kind === 'crowd-down' ? '<p><em>Crowd could not be reached.</em></p>' : '');
    page(res, 200, path === loginPath ? 'Log in' : 'Page', `<p>Path: <code>${escapeHtml(target)}</code></p>${who}`, refreshed);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('Internal error');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
