/**
 * The whole product on real sockets for end-to-end tests: the fake Crowd (examples/demo/fake-crowd), the demo IdP
 * (signs real SAML Responses with the test key), two Atlassian-like demo apps that validate the Crowd cookie the way
 * the real apps do, an echo upstream (with WebSocket), and crowd-sso-proxy built through app.ts from a config file.
 *
 * Host names: jira.sso.test, confluence.sso.test, echo.sso.test → the proxy (the Browser resolves them).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { RuntimeConfig } from '../../src/config/runtime-config.js';
import { startDemoApp, type DemoApp } from '../../examples/demo/demo-app.js';
import { startDemoIdp, type DemoIdp } from '../../examples/demo/demo-idp.js';
import { readDemoKeyPair } from '../../examples/demo/demo-keys.js';
import { startFakeCrowd, type FakeCrowd, type FakeCrowdOptions } from '../../examples/demo/fake-crowd.js';
import { Browser } from './browser.js';
import { startUpstream } from './upstream-server.js';

export const PROXY_APP = { name: 'crowd-sso-proxy', password: 'proxy-app-secret-for-tests' } as const;
export const STATE_SECRET = 'test-state-secret-0123456789-abcdefghijklmnop';
export const SP_ENTITY_ID = 'http://sso.test/_sso/saml/metadata';
export const HOSTS = { jira: 'jira.sso.test', confluence: 'confluence.sso.test', echo: 'echo.sso.test' } as const;

export const USERS = [
  { username: 'alice', password: 'alice-pw', email: 'alice@example.com', firstName: 'Alice', lastName: 'Adams' },
  { username: 'carol', password: 'carol-pw', email: 'carol@example.com', firstName: 'Carol', lastName: 'Clark' },
  { username: 'dave', password: 'dave-pw', email: 'dave@example.com', firstName: 'Dave', lastName: 'Davis' },
] as const;

export interface StackOptions {
  /** Changes to the raw config file (deep-merged one level: top-level keys and crowd/saml objects). */
  readonly config?: { readonly crowd?: Record<string, unknown>; readonly saml?: Record<string, unknown>; readonly [key: string]: unknown };
  readonly crowd?: FakeCrowdOptions;
  /** Extra keys for one of the three apps' config entries (e.g. `{ jira: { access: {...} } }`). */
  readonly apps?: Partial<Record<keyof typeof HOSTS, Record<string, unknown>>>;
  /** The proxy's clock for session lifetimes (SessionNotOnOrAfter, saml.maxSessionAgeSeconds). */
  readonly now?: () => number;
  /** false: the demo IdP publishes no SingleLogoutService. */
  readonly idpSingleLogout?: boolean;
  /** The Jira- and Confluence-like apps send a request without a valid session to their login page, as the real apps do. */
  readonly appsRedirectToLogin?: boolean;
}

/** The proxy's single logout URL the demo IdP answers to (the first app host's, as in the SP metadata). */
export const SP_SLO_URL = `http://${HOSTS.jira}/_sso/saml/slo`;

export interface Stack {
  readonly crowd: FakeCrowd;
  readonly idp: DemoIdp;
  readonly jira: DemoApp;
  readonly confluence: DemoApp;
  readonly echo: Awaited<ReturnType<typeof startUpstream>>;
  readonly config: RuntimeConfig;
  readonly proxy: App;
  readonly proxyPort: number;
  readonly configPath: string;
  /** Parsed JSON log lines of the proxy. */
  readonly logs: Record<string, unknown>[];
  /** A new browser that resolves the app hosts to the proxy. */
  browser(): Browser;
  acsUrl(host: string): string;
  close(): Promise<void>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function startStack(t: Teardown, options: StackOptions = {}): Promise<Stack> {
  const crowd = await startFakeCrowd({
    cookieConfig: { name: 'crowd.token_key', domain: '.sso.test', secure: false },
    applications: {
      [PROXY_APP.name]: { password: PROXY_APP.password, allowGenerateUserTokens: true },
      jira: { password: 'jira-pw' },
      confluence: { password: 'confluence-pw' },
    },
    users: [
      { name: 'alice', password: 'x', email: 'alice@example.com', firstName: 'Alice', lastName: 'Adams', displayName: 'Alice Adams' },
      { name: 'carol', password: 'x', email: 'carol@example.com', active: false },
    ],
    ...options.crowd,
  });
  const keys = readDemoKeyPair('idp');
  const idp = await startDemoIdp({
    keyPem: keys.keyPem,
    certPem: keys.certPem,
    users: USERS,
    sp: { entityId: SP_ENTITY_ID, sloUrl: SP_SLO_URL, certPem: readDemoKeyPair('sp').certPem },
    singleLogout: options.idpSingleLogout ?? true,
  });
  const redirectAnonymousToLogin = options.appsRedirectToLogin ?? false;
  const jira = await startDemoApp({ title: 'Jira (test)', crowdBaseUrl: crowd.baseUrl, applicationName: 'jira', applicationPassword: 'jira-pw', redirectAnonymousToLogin });
  const confluence = await startDemoApp({
    title: 'Confluence (test)',
    crowdBaseUrl: crowd.baseUrl,
    applicationName: 'confluence',
    applicationPassword: 'confluence-pw',
    redirectAnonymousToLogin,
  });
  const echo = await startUpstream();

  const dir = mkdtempSync(join(tmpdir(), 'crowd-sso-proxy-test-'));
  const raw = {
    listen: { host: '127.0.0.1', port: 0 },
    publicScheme: 'http',
    stateSecret: STATE_SECRET,
    logLevel: 'info',
    apps: [
      { name: 'jira', hosts: [HOSTS.jira], upstream: jira.url, startPath: '/secure/Dashboard.jspa', ...options.apps?.jira },
      { name: 'confluence', hosts: [HOSTS.confluence], upstream: confluence.url, ...options.apps?.confluence },
      { name: 'echo', hosts: [HOSTS.echo], upstream: echo.url, upstreamTimeoutSeconds: 2, ...options.apps?.echo },
    ],
    ...options.config,
    crowd: { baseUrl: crowd.baseUrl, applicationName: PROXY_APP.name, applicationPassword: PROXY_APP.password, timeoutMs: 1500, ...options.config?.crowd },
    saml: { spEntityId: SP_ENTITY_ID, idp: { metadataUrl: idp.metadataUrl }, ...options.config?.saml },
  };
  const configPath = join(dir, 'proxy.config.json');
  writeFileSync(configPath, JSON.stringify(raw, null, 2));
  const config = await loadConfig(configPath, { env: {} });

  const logs: Record<string, unknown>[] = [];
  const logStream = new PassThrough();
  let pending = '';
  logStream.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
    }
  });
  const proxy = await createApp(config, { logDestination: logStream, ...(options.now === undefined ? {} : { now: options.now }) });
  const { port: proxyPort } = await proxy.listen();

  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await proxy.close();
    await Promise.allSettled([crowd.close(), idp.close(), jira.close(), confluence.close(), echo.close()]);
    rmSync(dir, { recursive: true, force: true });
  };
  t.teardown(close);

  return {
    crowd,
    idp,
    jira,
    confluence,
    echo,
    config,
    proxy,
    proxyPort,
    configPath,
    logs,
    browser: () => new Browser((hostname) => (hostname.endsWith('.sso.test') ? proxyPort : undefined)),
    acsUrl: (host) => `http://${host}/_sso/saml/acs`,
    close,
  };
}
