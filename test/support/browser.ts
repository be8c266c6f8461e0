/**
 * A small browser for end-to-end tests: real HTTP over sockets, a cookie jar with Domain/host-only/Max-Age=0
 * semantics, host-name resolution to local ports (like `--resolve`), redirects (keeping the URL's fragment when the
 * Location has none, as browsers do), HTML form posts, and the proxy's login-start page: with `javascript` (the
 * default) it does what the page's script does, appending the fragment to the login link; without, what its
 * `<noscript>` refresh does.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface BrowserResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly url: string;
}

interface StoredCookie {
  readonly name: string;
  readonly value: string;
  /** Lower-case domain without leading dot, or undefined for a host-only cookie. */
  readonly domain: string | undefined;
  readonly host: string;
}

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
}

const NAVIGATION_HEADERS = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
};

function hostnameOf(host: string): string {
  return host.replace(/:\d+$/, '').toLowerCase();
}

export class Browser {
  readonly cookies: StoredCookie[] = [];
  readonly #resolve: (hostname: string) => number | undefined;
  readonly #javascript: boolean;

  /** `resolve` maps a host name to a port on 127.0.0.1 (like curl's --resolve); undefined = use the URL's port. */
  constructor(resolve: (hostname: string) => number | undefined, options: { readonly javascript?: boolean } = {}) {
    this.#resolve = resolve;
    this.#javascript = options.javascript ?? true;
  }

  cookieHeaderFor(host: string): string | undefined {
    const hostname = hostnameOf(host);
    const sent = this.cookies.filter((c) => (c.domain === undefined ? hostnameOf(c.host) === hostname : hostname === c.domain || hostname.endsWith(`.${c.domain}`)));
    return sent.length === 0 ? undefined : sent.map((c) => `${c.name}=${c.value}`).join('; ');
  }

  setCookie(host: string, name: string, value: string, domain?: string): void {
    this.#store(host, `${name}=${value}${domain ? `; Domain=${domain}` : ''}`);
  }

  #store(host: string, setCookie: string): void {
    const [pair = '', ...attributes] = setCookie.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    let domain: string | undefined;
    let expired = false;
    for (const attribute of attributes) {
      const [key = '', val = ''] = attribute.split('=').map((s) => s.trim());
      if (key.toLowerCase() === 'domain' && val !== '') domain = val.replace(/^\./, '').toLowerCase();
      if (key.toLowerCase() === 'max-age' && Number(val) <= 0) expired = true;
    }
    const same = (c: StoredCookie): boolean => c.name === name && c.domain === domain && (domain !== undefined || hostnameOf(c.host) === hostnameOf(host));
    const index = this.cookies.findIndex(same);
    if (index >= 0) this.cookies.splice(index, 1);
    if (!expired) this.cookies.push({ name, value, domain, host });
  }

  async request(url: string, options: RequestOptions = {}): Promise<BrowserResponse> {
    const target = new URL(url);
    const port = this.#resolve(target.hostname) ?? Number(target.port || 80);
    const cookie = this.cookieHeaderFor(target.host);
    const headers: Record<string, string> = { ...options.headers, host: target.host };
    if (cookie !== undefined && headers.cookie === undefined) headers.cookie = cookie;
    const response = await new Promise<BrowserResponse>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, method: options.method ?? 'GET', path: `${target.pathname}${target.search}`, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), url }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(options.body);
    });
    for (const setCookie of response.headers['set-cookie'] ?? []) this.#store(target.host, setCookie);
    return response;
  }

  /** A top-level navigation, following redirects (GET after 302/303) and the login-start page up to `maxRedirects`. */
  async navigate(url: string, maxRedirects = 10): Promise<BrowserResponse> {
    let response = await this.request(url, { headers: NAVIGATION_HEADERS });
    for (let i = 0; i < maxRedirects; i++) {
      const next = this.nextOf(response);
      if (next === undefined) break;
      response = await this.request(next, { headers: NAVIGATION_HEADERS });
    }
    return response;
  }

  /** Where a browser goes on its own after `response`: a redirect's Location, or the login-start page's link. */
  nextOf(response: BrowserResponse): string | undefined {
    const fragment = new URL(response.url).hash;
    if (response.status >= 300 && response.status < 400 && response.headers.location) {
      const target = new URL(response.headers.location, response.url);
      if (target.hash === '') target.hash = fragment;
      return target.href;
    }
    const link = response.status === 200 ? loginStartLink(response.body) : undefined;
    if (link === undefined) return undefined;
    return new URL(link, response.url).href + (this.#javascript ? encodeURIComponent(fragment) : '');
  }

  /** Submits the first form of an HTML page (hidden inputs + `fields`), then follows redirects. */
  async submitForm(page: BrowserResponse, fields: Record<string, string> = {}, followRedirects = true): Promise<BrowserResponse> {
    const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(page.body);
    if (form === null) throw new Error(`no form on ${page.url}: ${page.body.slice(0, 300)}`);
    const action = new URL(decodeEntities(form[1] as string), page.url).href;
    const values = new URLSearchParams();
    for (const input of (form[2] as string).matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/gi)) {
      values.set(decodeEntities(input[1] as string), decodeEntities(input[2] as string));
    }
    for (const [key, value] of Object.entries(fields)) values.set(key, value);
    const response = await this.request(action, {
      method: 'POST',
      headers: { ...NAVIGATION_HEADERS, 'content-type': 'application/x-www-form-urlencoded' },
      body: values.toString(),
    });
    if (!followRedirects || !(response.status >= 300 && response.status < 400 && response.headers.location)) return response;
    return this.navigate(new URL(response.headers.location, response.url).href);
  }
}

/** The link of the proxy's login-start page (`<a id="sign-in">`), decoded; undefined on any other page. */
export function loginStartLink(body: string): string | undefined {
  const href = /<a id="sign-in" href="([^"]*)">/.exec(body)?.[1];
  return href === undefined ? undefined : decodeEntities(href);
}

function decodeEntities(value: string): string {
  return value.replace(/&(#\d+|#x[0-9a-f]+|amp|lt|gt|quot|apos);/gi, (_, entity: string) => {
    if (entity[0] === '#') return String.fromCodePoint(entity[1]?.toLowerCase() === 'x' ? parseInt(entity.slice(2), 16) : Number(entity.slice(1)));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[entity.toLowerCase()] as string;
  });
}
