/**
 * The whole product behind a real nginx in forward-auth mode: the test stack (fake Crowd, demo IdP, demo apps, echo
 * upstream, crowd-sso-proxy with 127.0.0.1 in trustedProxies), and nginx running the configuration
 * `crowd-sso-proxy nginx-config` generates for it. Browsers and raw requests go to nginx, never to the proxy.
 */
import { renderNginxConfig } from '../../../src/cli/nginx-config.js';
import { Browser } from '../../support/browser.js';
import { nginxAvailable, startNginx, type Nginx } from '../../support/nginx.js';
import { startStack, type Stack, type StackOptions } from '../../support/stack.js';

/** Why these tests are skipped here, or false. */
export const skip: string | false = nginxAvailable() ?? false;

/** Bound for each test of the suite: the stack, nginx, and a few dozen requests. */
export const TEST_TIMEOUT_MS = 60_000;

export interface NginxStack {
  readonly stack: Stack;
  readonly nginx: Nginx;
  /** A new browser that resolves the app hosts to nginx. */
  browser(options?: { readonly javascript?: boolean }): Browser;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function startNginxStack(t: Teardown, options: StackOptions & { readonly authCacheSeconds?: number } = {}): Promise<NginxStack> {
  const { authCacheSeconds, ...stackOptions } = options;
  const stack = await startStack(t, { ...stackOptions, config: { trustedProxies: ['127.0.0.1/32'], ...stackOptions.config } });
  const nginx = await startNginx(t, ({ port, dir }) =>
    renderNginxConfig(stack.config, {
      ssoUpstream: `http://127.0.0.1:${stack.proxyPort}`,
      listen: `127.0.0.1:${port}`,
      authCacheSeconds,
      authCachePath: `${dir}/auth-cache`,
    }),
  );
  // nginx stops before the stack does (teardowns run in reverse order).
  return {
    stack,
    nginx,
    browser: (browserOptions) => new Browser((hostname) => (hostname.endsWith('.sso.test') ? nginx.port : undefined), browserOptions),
  };
}

export { rawRequest } from '../../support/bypass-oracle.js';

/** The status code of a raw answer, or 'none'. */
export function statusOf(answer: string): string {
  return /^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? 'none';
}

/** A header of a raw answer (the first, case-insensitive), or undefined. */
export function headerOf(answer: string, name: string): string | undefined {
  const head = answer.split('\r\n\r\n', 1)[0] ?? '';
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

/**
 * Signs `username` in at the demo IdP's login form, starting from `url` through nginx; returns the Crowd token the
 * browser then holds.
 */
export async function signIn(browser: Browser, url: string, username = 'alice'): Promise<string> {
  const form = await browser.navigate(url);
  if (!/name="password"/.test(form.body)) throw new Error(`no IdP login form at ${form.url}: ${form.status} ${form.body.slice(0, 200)}`);
  const landed = await browser.submitForm(await browser.submitForm(form, { username, password: `${username}-pw` }));
  const token = browser.cookies.find((c) => c.name === 'crowd.token_key')?.value;
  if (token === undefined) throw new Error(`the login of ${username} set no Crowd cookie (landed on ${landed.url} with ${landed.status})`);
  return token;
}
