/**
 * A real SAML IdP for the end-to-end tests: SimpleSAMLphp (Debian package `simplesamlphp`, version 1.19) served by
 * PHP's built-in web server on a free loopback port, with its whole configuration in a fresh temporary directory
 * (config.php, authsources.php with `exampleauth:UserPass` users, the hosted IdP and the proxy as remote SP), found
 * through the SIMPLESAMLPHP_CONFIG_DIR environment variable. Stopped and removed in teardown.
 *
 * SimpleSAMLphp builds every URL it hands out (its entity ID, SSO and SLO endpoints, form actions) from
 * `baseurlpath`, which is set to the external name `http://idp.sso.test/`; a browser must resolve that name to the
 * loopback port (see chromium.ts). The proxy fetches the metadata from the loopback address directly.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { demoKeysDir, readDemoKeyPair } from '../../examples/demo/demo-keys.js';
import { launchChromium, type Chromium } from './chromium.js';
import { HOSTS, startStack, type Stack, type StackOptions } from './stack.js';

/** Where the Debian package installs SimpleSAMLphp; `www` is the document root. */
export const SIMPLESAMLPHP_DIR = '/usr/share/simplesamlphp';
const WWW_DIR = join(SIMPLESAMLPHP_DIR, 'www');

export const NAMEID_UNSPECIFIED = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';
export const NAMEID_EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const HTTP_POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const HTTP_REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

const STARTUP_TIMEOUT_MS = 15_000;

/** Why SimpleSAMLphp cannot run here, or undefined when `php` and the simplesamlphp package are installed. */
export function simpleSamlPhpAvailable(): string | undefined {
  const probe = spawnSync('php', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    return 'php is not installed (Debian: apt-get install php-cli); the tests against a real SimpleSAMLphp IdP are skipped';
  }
  const dom = spawnSync('php', ['-r', 'exit(class_exists("DOMDocument") && function_exists("mb_strlen") ? 0 : 1);']);
  if (dom.status !== 0) {
    return "PHP's dom or mbstring extension is missing (Debian: apt-get install php-xml php-mbstring); the tests against a real SimpleSAMLphp IdP are skipped";
  }
  if (!existsSync(join(WWW_DIR, 'saml2', 'idp', 'metadata.php'))) {
    return `SimpleSAMLphp is not installed in ${SIMPLESAMLPHP_DIR} (Debian: apt-get install simplesamlphp); the tests against a real IdP are skipped`;
  }
  return undefined;
}

export interface SimpleSamlPhpUser {
  readonly username: string;
  readonly password: string;
  /** SAML attributes of the user (`uid` defaults to the username). */
  readonly attributes?: Readonly<Record<string, string | readonly string[]>>;
}

export interface SimpleSamlPhpSp {
  readonly entityId: string;
  /** One Assertion Consumer Service (HTTP-POST) per app host. */
  readonly acsUrls: readonly string[];
  /** The SP's SingleLogoutService (HTTP-Redirect); none when undefined. */
  readonly sloUrl?: string;
  /** The SP's signing certificate (PEM): SimpleSAMLphp then checks the signatures of its AuthnRequests and LogoutRequests. */
  readonly certPem?: string;
  /** The NameID format the IdP sends (default unspecified). */
  readonly nameIdFormat?: string;
  /** The user attribute whose value becomes the NameID (default `uid`). */
  readonly nameIdAttribute?: string;
}

export interface SimpleSamlPhpOptions {
  readonly sp: SimpleSamlPhpSp;
  readonly users: readonly SimpleSamlPhpUser[];
  /** `saml20.sign.response`: sign the Response (default true). */
  readonly signResponse?: boolean;
  /** `saml20.sign.assertion`: sign the Assertion (default true). */
  readonly signAssertion?: boolean;
  /**
   * `sign.logout`: sign the LogoutRequests and LogoutResponses sent to the SP (default true; SimpleSAMLphp's own
   * default is false, and the proxy refuses unsigned logout messages).
   */
  readonly signLogout?: boolean;
  /** The host name a browser uses for the IdP (default idp.sso.test). */
  readonly hostName?: string;
}

export interface SimpleSamlPhp {
  /** The loopback port PHP's server listens on (a browser maps `hostName` to it). */
  readonly port: number;
  readonly hostName: string;
  /** The external base URL, `http://idp.sso.test` (no trailing slash). */
  readonly url: string;
  /** The IdP's entity ID (`http://idp.sso.test/saml2/idp/metadata.php`). */
  readonly entityId: string;
  /** The metadata on the loopback address, for the proxy's `saml.idp.metadataUrl`. */
  readonly metadataUrl: string;
  /** SimpleSAMLphp's own log and the PHP server's output so far, for failure messages. */
  logs(): string;
  close(): Promise<void>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A JavaScript value as a PHP literal (strings, numbers, booleans, null, arrays and string-keyed maps). */
function php(value: unknown, indent = ''): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const inner = `${indent}    `;
  if (Array.isArray(value)) {
    return value.length === 0 ? '[]' : `[\n${value.map((item) => `${inner}${php(item, inner)},\n`).join('')}${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  return entries.length === 0 ? '[]' : `[\n${entries.map(([key, item]) => `${inner}${php(key)} => ${php(item, inner)},\n`).join('')}${indent}]`;
}

/** The base64 body of a PEM certificate, as SimpleSAMLphp's `certData` wants it. */
function certData(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function writeConfig(dir: string, options: SimpleSamlPhpOptions, baseUrl: string): void {
  const configDir = join(dir, 'config');
  const certDir = join(dir, 'cert');
  const metadataDir = join(dir, 'metadata');
  for (const sub of [configDir, certDir, metadataDir, join(dir, 'log'), join(dir, 'data'), join(dir, 'tmp'), join(dir, 'sessions')]) {
    mkdirSync(sub, { recursive: true });
  }
  const keys = readDemoKeyPair('idp');
  writeFileSync(join(certDir, 'idp.key'), keys.keyPem, { mode: 0o600 });
  writeFileSync(join(certDir, 'idp.crt'), keys.certPem);

  const config = {
    baseurlpath: `${baseUrl}/`,
    certdir: `${certDir}/`,
    loggingdir: `${join(dir, 'log')}/`,
    datadir: `${join(dir, 'data')}/`,
    tempdir: join(dir, 'tmp'),
    metadatadir: `${metadataDir}/`,
    'metadata.sources': [{ type: 'flatfile' }],
    secretsalt: 'test-secret-salt-for-the-throw-away-idp',
    'auth.adminpassword': 'test-admin-password-for-the-throw-away-idp',
    technicalcontact_name: 'Test',
    technicalcontact_email: 'test@example.com',
    timezone: 'UTC',
    'admin.checkforupdates': false,
    'enable.saml20-idp': true,
    'module.enable': { exampleauth: true, core: true, saml: true, admin: true },
    'logging.handler': 'file',
    'logging.logfile': 'simplesamlphp.log',
    'logging.level': 7, // SimpleSAML\Logger::DEBUG
    showerrors: true,
    errorreporting: false,
    production: false,
    'store.type': 'phpsession',
    'session.phpsession.savepath': join(dir, 'sessions'),
    // Plain http in the tests: cookies without Secure, and no SameSite=None (which a browser drops without Secure).
    'session.cookie.secure': false,
    'session.cookie.samesite': null,
    'language.cookie.secure': false,
    'language.cookie.samesite': null,
    // Where SimpleSAMLphp may send the browser after an IdP-initiated logout (ReturnTo): the app hosts.
    'trusted.url.domains': [...new Set(options.sp.acsUrls.map((acs) => new URL(acs).hostname))],
    'language.available': ['en'],
    'language.default': 'en',
  };
  writeFileSync(join(configDir, 'config.php'), `<?php\n$config = ${php(config)};\n`);

  const userpass: Record<string, unknown> = { 0: 'exampleauth:UserPass' };
  for (const user of options.users) {
    const attributes: Record<string, string[]> = { uid: [user.username] };
    for (const [name, value] of Object.entries(user.attributes ?? {})) attributes[name] = typeof value === 'string' ? [value] : [...value];
    userpass[`${user.username}:${user.password}`] = attributes;
  }
  const authsources = { admin: ['core:AdminPassword'], 'test-userpass': userpass };
  writeFileSync(join(configDir, 'authsources.php'), `<?php\n$config = ${php(authsources)};\n`);

  const idp = {
    host: '__DEFAULT__',
    privatekey: 'idp.key',
    certificate: 'idp.crt',
    auth: 'test-userpass',
    'attributes.NameFormat': 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
  };
  writeFileSync(join(metadataDir, 'saml20-idp-hosted.php'), `<?php\n$metadata['__DYNAMIC:1__'] = ${php(idp)};\n`);

  const { sp } = options;
  const remote: Record<string, unknown> = {
    AssertionConsumerService: sp.acsUrls.map((location, index) => ({ Binding: HTTP_POST, Location: location, index })),
    NameIDFormat: sp.nameIdFormat ?? NAMEID_UNSPECIFIED,
    'simplesaml.nameidattribute': sp.nameIdAttribute ?? 'uid',
    'simplesaml.attributes': true,
    'saml20.sign.response': options.signResponse ?? true,
    'saml20.sign.assertion': options.signAssertion ?? true,
    'sign.logout': options.signLogout ?? true,
  };
  if (sp.sloUrl !== undefined) remote.SingleLogoutService = [{ Binding: HTTP_REDIRECT, Location: sp.sloUrl }];
  if (sp.certPem !== undefined) {
    remote.certData = certData(sp.certPem);
    remote['validate.authnrequest'] = true;
    remote['validate.logout'] = true;
  }
  writeFileSync(join(metadataDir, 'saml20-sp-remote.php'), `<?php\n$metadata[${php(sp.entityId)}] = ${php(remote)};\n`);
}

/** Resolves once the metadata URL answers 200; fails when PHP exits first or the bound passes. */
async function waitForMetadata(url: string, proc: ChildProcess, logs: () => string): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let last = 'no answer';
  for (;;) {
    if (proc.exitCode !== null || proc.pid === undefined) throw new Error(`php -S is not running (exit status ${proc.exitCode}):\n${logs()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      const body = await res.text();
      if (res.status === 200 && /<md:EntityDescriptor[^>]*entityID=/.test(body)) return;
      last = `${res.status}: ${body.slice(0, 500)}`;
    } catch (error) {
      last = String(error);
    }
    if (Date.now() > deadline) throw new Error(`SimpleSAMLphp metadata did not answer within ${STARTUP_TIMEOUT_MS} ms (${last})\n${logs()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Starts SimpleSAMLphp and resolves once its metadata answers; the caller stops it with `close()`. */
export async function startSimpleSamlPhp(options: SimpleSamlPhpOptions): Promise<SimpleSamlPhp> {
  const hostName = options.hostName ?? 'idp.sso.test';
  const url = `http://${hostName}`;
  const dir = mkdtempSync(join(tmpdir(), 'crowd-sso-proxy-simplesamlphp-'));
  writeConfig(dir, options, url);
  const port = await freePort();

  let output = '';
  const proc = spawn('php', ['-S', `127.0.0.1:${port}`, '-t', WWW_DIR], {
    cwd: dir,
    env: { ...process.env, SIMPLESAMLPHP_CONFIG_DIR: join(dir, 'config') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collect = (chunk: Buffer): void => {
    // The built-in server logs every request; keep the tail only.
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  proc.stdout?.on('data', collect);
  proc.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => {
    proc.once('exit', () => resolve());
    // php could not be started at all (e.g. missing): no exit event follows.
    proc.once('error', (error) => {
      collect(Buffer.from(`\n${String(error)}\n`));
      resolve();
    });
  });

  const logs = (): string => {
    const logFile = join(dir, 'log', 'simplesamlphp.log');
    const own = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-20_000) : '';
    return `--- php -S ---\n${output}\n--- simplesamlphp.log ---\n${own}`;
  };

  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    if (proc.exitCode === null && proc.pid !== undefined) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const metadataUrl = `http://127.0.0.1:${port}/saml2/idp/metadata.php`;
  try {
    await waitForMetadata(metadataUrl, proc, logs);
  } catch (error) {
    await close();
    throw error;
  }
  return { port, hostName, url, entityId: `${url}/saml2/idp/metadata.php`, metadataUrl, logs, close };
}

/** The proxy's SP key pair (the demo keys), so it signs its AuthnRequests and LogoutRequests (single logout). */
export const SP_KEYS = { spPrivateKey: { file: join(demoKeysDir(), 'sp.key') }, spCertificateFile: join(demoKeysDir(), 'sp.crt') };

export interface RealIdpStackOptions {
  /** SimpleSAMLphp; the SP's ACS URLs default to one per app host of the stack. */
  readonly idp: Omit<SimpleSamlPhpOptions, 'sp'> & { readonly sp: Omit<SimpleSamlPhpSp, 'acsUrls'> & { readonly acsUrls?: readonly string[] } };
  /** startStack's options; `saml.idp` is set to SimpleSAMLphp's metadata. */
  readonly stack?: StackOptions;
}

export interface RealIdpStack {
  readonly idp: SimpleSamlPhp;
  readonly stack: Stack;
  readonly chromium: Chromium;
}

/**
 * SimpleSAMLphp first (it must know the SP's entity ID and ACS URLs, which follow from the stack's fixed host names),
 * then the stack with the proxy pointed at SimpleSAMLphp's metadata, then Chromium resolving both.
 */
export async function startRealIdpStack(t: Teardown & { passing(): boolean }, options: RealIdpStackOptions): Promise<RealIdpStack> {
  const acsUrls = options.idp.sp.acsUrls ?? Object.values(HOSTS).map((host) => `http://${host}/_sso/saml/acs`);
  const idp = await startSimpleSamlPhp({ ...options.idp, sp: { ...options.idp.sp, acsUrls } });
  t.teardown(() => {
    // A failed test gets SimpleSAMLphp's side of the story (its errors rarely reach the browser verbatim).
    if (!t.passing()) console.error(`SimpleSAMLphp's log:\n${idp.logs().slice(-8_000)}`);
    return idp.close();
  });
  const stackOptions = options.stack ?? {};
  const stack = await startStack(t, {
    ...stackOptions,
    config: { ...stackOptions.config, saml: { ...stackOptions.config?.saml, idp: { metadataUrl: idp.metadataUrl } } },
  });
  const chromium = await launchChromium(t, { proxyPort: stack.proxyPort, idpPort: idp.port, idpHost: idp.hostName });
  return { idp, stack, chromium };
}

/** Fills in and submits SimpleSAMLphp's username/password form on `page`. */
export async function loginAtIdp(page: Page, username: string, password: string): Promise<void> {
  try {
    await page.waitForSelector('input[name="username"]');
  } catch (error) {
    // Most often an error page (of the proxy or of SimpleSAMLphp): say what the browser shows instead.
    const shown = (await page.textContent('body').catch(() => null))?.replace(/\s+/g, ' ').trim().slice(0, 800);
    throw new Error(`no SimpleSAMLphp login form at ${page.url()} (${String(error)}); the page shows: ${shown ?? '(nothing)'}`);
  }
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForNavigation(), page.press('input[name="password"]', 'Enter')]);
}
