/**
 * Apache httpd with mod_auth_mellon as a SAML-protected reverse proxy (Debian packages `apache2` and
 * `libapache2-mod-auth-mellon`): the established way to put SAML in front of an app, measured against the same
 * upstream. `/` is protected with `MellonEnable auth` and proxied with mod_proxy_http.
 *
 * At start-up one real login goes through mellon and the demo IdP (GET / → 303 to the IdP → its login form → its
 * auto-post to `/mellon/postResponse` → the `mellon-cookie` session), so that every measured request carries a valid
 * mellon session; a request with that cookie must reach the upstream with 2xx, or the start fails.
 *
 * httpd runs in the foreground from its own temporary folder (pid file, error log, mutexes, runtime files): one event
 * MPM process with a fixed number of threads, on the CPUs it is given.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo, tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startDemoIdp } from '../examples/demo/demo-idp.js';
import { readDemoKeyPair } from '../examples/demo/demo-keys.js';
import { onCpus } from './cpu-plan.js';
import { freePort } from './free-port.js';
import { checkReachesUpstream } from './upstream-check.js';
import { waitForPort } from './wait-for-port.js';

export interface ApacheMellonInstall {
  readonly binary: string;
  readonly modulesDir: string;
}

export interface ApacheMellonOptions {
  readonly upstreamPort: number;
  /** The Host header every request carries (mellon binds its session cookie to the host name). */
  readonly host: string;
  /** The CPUs httpd runs on (all its processes and threads); undefined = wherever the system puts it. */
  readonly cpuList: string | undefined;
}

export interface ApacheMellon {
  readonly port: number;
  /** httpd's parent process (the event MPM child is below it). */
  readonly pid: number;
  /** `mellon-cookie=…`: the session of the login made at start-up. */
  readonly sessionCookie: string;
  close(): Promise<void>;
}

const BINARY_CANDIDATES = ['/usr/sbin/apache2', 'apache2'];
const MODULES_DIR = '/usr/lib/apache2/modules';
/** One process, with as many threads as the most connections a benchmark group opens (event MPM). */
const THREADS = 32;
const ENDPOINT = '/mellon';
const SESSION_COOKIE = 'mellon-cookie';
const USER = { username: 'bench-user', password: 'bench-password', email: 'bench-user@bench.test', firstName: 'Bench', lastName: 'User' } as const;
const LOGIN_STEPS_TIMEOUT_MS = 10_000;

/** httpd and mod_auth_mellon, or undefined when either is not installed. */
export function findApacheMellon(): ApacheMellonInstall | undefined {
  if (!existsSync(join(MODULES_DIR, 'mod_auth_mellon.so')) || !existsSync(join(MODULES_DIR, 'mod_proxy_http.so'))) return undefined;
  const binary = BINARY_CANDIDATES.find((candidate) => spawnSync(candidate, ['-v'], { stdio: 'ignore' }).status === 0);
  return binary === undefined ? undefined : { binary, modulesDir: MODULES_DIR };
}

const pemBody = (pem: string): string => pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');

function spMetadata(entityId: string, origin: string, certPem: string): string {
  const keyInfo = `<ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${pemBody(certPem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${entityId}">
  <md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">${keyInfo}</md:KeyDescriptor>
    <md:KeyDescriptor use="encryption">${keyInfo}</md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>
    <md:AssertionConsumerService index="0" isDefault="true" Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${origin}${ENDPOINT}/postResponse"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
`;
}

/** httpd refuses to serve as root: as root its worker runs as www-data (or nobody), reading the files of `dir`. */
function serverUser(): string {
  if (userInfo().uid !== 0) return '';
  const user = spawnSync('id', ['-u', 'www-data'], { stdio: 'ignore' }).status === 0 ? 'www-data' : 'nobody';
  const group = spawnSync('getent', ['group', user], { stdio: 'ignore' }).status === 0 ? user : 'nogroup';
  return `User ${user}\nGroup ${group}\n`;
}

function httpdConfig(install: ApacheMellonInstall, dir: string, port: number, options: ApacheMellonOptions): string {
  const module = (name: string, file: string): string => `LoadModule ${name} ${join(install.modulesDir, file)}`;
  return `# Apache httpd + mod_auth_mellon for the benchmark: everything in this folder.
ServerRoot "${dir}"
DefaultRuntimeDir "${dir}/run"
PidFile "${dir}/httpd.pid"
ErrorLog "${dir}/error.log"
LogLevel warn
Mutex file:${dir}/run default
${serverUser()}Listen 127.0.0.1:${port}
ServerName ${options.host}
UseCanonicalName Off

${module('mpm_event_module', 'mod_mpm_event.so')}
${module('authn_core_module', 'mod_authn_core.so')}
${module('authz_core_module', 'mod_authz_core.so')}
${module('authz_user_module', 'mod_authz_user.so')}
${module('proxy_module', 'mod_proxy.so')}
${module('proxy_http_module', 'mod_proxy_http.so')}
${module('auth_mellon_module', 'mod_auth_mellon.so')}

# One process with a fixed number of threads, never replaced (no access log, as in the nginx rows).
StartServers 1
ServerLimit 1
ThreadLimit ${THREADS}
ThreadsPerChild ${THREADS}
MaxRequestWorkers ${THREADS}
MinSpareThreads 1
MaxSpareThreads ${THREADS}
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 60

ProxyPreserveHost On
ProxyPass ${ENDPOINT}/ !
# Pooled upstream connections, dropped before the upstream's 5 s keep-alive timeout would close them under us.
ProxyPass / http://127.0.0.1:${options.upstreamPort}/ ttl=4

<Location />
  MellonEnable auth
  AuthType Mellon
  Require valid-user
  MellonEndpointPath ${ENDPOINT}/
  MellonSPMetadataFile ${dir}/sp-metadata.xml
  MellonSPPrivateKeyFile ${dir}/sp.key
  MellonSPCertFile ${dir}/sp.crt
  MellonIdPMetadataFile ${dir}/idp-metadata.xml
  MellonSecureCookie Off
</Location>
`;
}

/** Name=value of every Set-Cookie of a response. */
function setCookies(headers: Record<string, string | string[] | undefined>): Map<string, string> {
  const raw = headers['set-cookie'];
  const cookies = new Map<string, string>();
  for (const line of raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]) {
    const pair = line.split(';')[0] ?? '';
    const equals = pair.indexOf('=');
    if (equals > 0) cookies.set(pair.slice(0, equals).trim(), pair.slice(equals + 1).trim());
  }
  return cookies;
}

const unescapeHtml = (text: string): string =>
  text.replace(/&(amp|lt|gt|quot|apos|#39);/g, (_, name: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'" })[name] ?? '');

/** The action and the hidden fields of the first form of an HTML page. */
function readForm(html: string, what: string): { action: string; fields: URLSearchParams } {
  const action = /<form[^>]*\baction="([^"]*)"/.exec(html)?.[1];
  if (action === undefined) throw new Error(`${what}: no form in the page`);
  const fields = new URLSearchParams();
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields.set(match[1] as string, unescapeHtml(match[2] as string));
  return { action: unescapeHtml(action), fields };
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

async function send(url: string, init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string }): Promise<Answer> {
  const response = await request(url, {
    method: init.method ?? 'GET',
    headers: init.headers ?? {},
    ...(init.body === undefined ? {} : { body: init.body }),
    headersTimeout: LOGIN_STEPS_TIMEOUT_MS,
    bodyTimeout: LOGIN_STEPS_TIMEOUT_MS,
  });
  return { status: response.statusCode, headers: response.headers, body: await response.body.text() };
}

/** One browser login through mellon and the demo IdP; answers the Cookie header of the mellon session. */
async function signIn(port: number, host: string, idpUrl: string): Promise<string> {
  const sp = `http://127.0.0.1:${port}`;
  const jar = new Map<string, string>();
  const cookie = (): string => [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
  const step = (what: string, answer: Answer, status: number): void => {
    if (answer.status !== status) throw new Error(`apache-mellon login, ${what}: HTTP ${answer.status} instead of ${status}: ${answer.body.slice(0, 300)}`);
  };

  // 1. A protected page: mellon sets its cookie test and sends the browser (through its own login endpoint) to the
  // IdP with an AuthnRequest.
  let location = `http://${host}/`;
  for (let hop = 0; location.startsWith(`http://${host}/`); hop += 1) {
    if (hop === 5) throw new Error(`apache-mellon login: more than ${hop} redirects within httpd, the last to ${location}`);
    const answer = await send(`${sp}${location.slice(`http://${host}`.length)}`, { headers: { host, cookie: cookie() } });
    if (answer.status < 300 || answer.status >= 400) throw new Error(`apache-mellon login, GET ${location}: HTTP ${answer.status} instead of a redirect: ${answer.body.slice(0, 300)}`);
    for (const [name, value] of setCookies(answer.headers)) jar.set(name, value);
    location = String(answer.headers.location ?? '');
  }
  const toIdp = location;
  if (!toIdp.startsWith(`${idpUrl}/sso?`)) throw new Error(`apache-mellon login: mellon redirected to "${toIdp}", not to the demo IdP`);
  // 2. The IdP's login form, then its auto-post form with the signed Response.
  const form = readForm((await send(toIdp, {})).body, 'the demo IdP login form');
  form.fields.set('username', USER.username);
  form.fields.set('password', USER.password);
  const posted = await send(`${idpUrl}/sso/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.fields.toString() });
  step('the demo IdP login', posted, 200);
  const autoPost = readForm(posted.body, "the demo IdP's auto-post page");
  if (!autoPost.action.endsWith(`${ENDPOINT}/postResponse`)) throw new Error(`apache-mellon login: the IdP posts to "${autoPost.action}", not to mellon's endpoint`);
  // 3. The browser's auto-post to mellon's endpoint: the session cookie, and back to the page first asked for.
  const acs = await send(`${sp}${ENDPOINT}/postResponse`, {
    method: 'POST',
    headers: { host, cookie: cookie(), 'content-type': 'application/x-www-form-urlencoded' },
    body: autoPost.fields.toString(),
  });
  if (acs.status !== 303 && acs.status !== 302) throw new Error(`apache-mellon login, POST ${ENDPOINT}/postResponse: HTTP ${acs.status}: ${acs.body.slice(0, 300)}`);
  const session = setCookies(acs.headers).get(SESSION_COOKIE);
  if (session === undefined || session === 'cookietest') throw new Error(`apache-mellon login: mellon set no ${SESSION_COOKIE} session`);
  const sessionCookie = `${SESSION_COOKIE}=${session}`;

  // 4. With the session, a request reaches the upstream.
  const problem = await checkReachesUpstream(port, host, sessionCookie);
  if (problem !== undefined) throw new Error(`apache-mellon: ${problem}`);
  return sessionCookie;
}

export async function startApacheMellon(install: ApacheMellonInstall, options: ApacheMellonOptions): Promise<ApacheMellon> {
  const dir = mkdtempSync(join(tmpdir(), 'crowd-sso-proxy-bench-apache-'));
  // httpd's worker may run as another user (see serverUser): it reads the keys and metadata, and uses the mutexes.
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'run'), { mode: 0o777 });
  chmodSync(join(dir, 'run'), 0o777);
  const port = await freePort();
  const origin = `http://${options.host}`;
  const spKeys = readDemoKeyPair('sp');
  const idpKeys = readDemoKeyPair('idp');
  const idp = await startDemoIdp({ keyPem: idpKeys.keyPem, certPem: idpKeys.certPem, users: [USER], singleLogout: false });
  let child: ReturnType<typeof spawn> | undefined;
  let exited: Promise<void> = Promise.resolve();
  const stop = async (): Promise<void> => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    const metadata = await send(idp.metadataUrl, {});
    writeFileSync(join(dir, 'idp-metadata.xml'), metadata.body, { mode: 0o644 });
    writeFileSync(join(dir, 'sp-metadata.xml'), spMetadata(`${origin}${ENDPOINT}/metadata`, origin, spKeys.certPem), { mode: 0o644 });
    // The public demo SP key (examples/demo/keys): readable by httpd's worker user.
    writeFileSync(join(dir, 'sp.key'), spKeys.keyPem, { mode: 0o644 });
    writeFileSync(join(dir, 'sp.crt'), spKeys.certPem, { mode: 0o644 });
    const configFile = join(dir, 'httpd.conf');
    writeFileSync(configFile, httpdConfig(install, dir, port, options), { mode: 0o644 });

    const command = onCpus(options.cpuList, install.binary, ['-DFOREGROUND', '-f', configFile]);
    const started = spawn(command.command, command.args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child = started;
    exited = new Promise<void>((resolve) => started.once('exit', () => resolve()));
    await waitForPort(port, `Apache httpd (see its log ${join(dir, 'error.log')})`, () => started.exitCode !== null || started.signalCode !== null);
    const sessionCookie = await signIn(port, options.host, idp.url);
    return {
      port,
      // taskset execs httpd, so the process started is httpd's parent.
      pid: started.pid as number,
      sessionCookie,
      async close() {
        await stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  } finally {
    await idp.close();
  }
}
