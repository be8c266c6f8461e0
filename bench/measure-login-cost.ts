/**
 * CPU the proxy spends per login, measured inside the proxy process (`process.cpuUsage()` before and after):
 * N page navigations without a session (→ the login-start page), then the N login starts its link leads to (→ 302 to
 * the IdP with the AuthnRequest, a sealed RelayState and the login-binding cookie), then N ACS posts of real signed
 * SAML Responses (signed here, in the runner, so that signing is not counted) each ending in a Crowd session.
 *
 * The two halves of a start are measured apart, after unmeasured warm-up starts: a running proxy has long compiled
 * its login code, and the first few hundred starts of a fresh process cost about twice what later ones do.
 */
import http from 'node:http';
import { readDemoKeyPair } from '../examples/demo/demo-keys.js';
import { buildSamlResponse, parseAuthnRequest } from '../examples/demo/saml-response.js';

export interface LoginCostOptions {
  readonly proxyPort: number;
  readonly host: string;
  readonly idpEntityId: string;
  readonly spEntityId: string;
  readonly username: string;
  readonly logins: number;
  /** Login starts (page and redirect) before the measured ones, not measured; default twice `logins`, at most 500. */
  readonly warmupLogins?: number;
  /** CPU time the proxy process has used so far. */
  readonly proxyCpuUsage: () => Promise<NodeJS.CpuUsage>;
}

export interface LoginCostResult {
  readonly logins: number;
  /** Proxy CPU per started login: `pageCpuMs` + `redirectCpuMs`. */
  readonly startCpuMs: number;
  /** Proxy CPU per page navigation without a session, answered with the login-start page. */
  readonly pageCpuMs: number;
  /** Proxy CPU per GET of the page's link: the 302 to the IdP (AuthnRequest, sealed RelayState, binding cookie). */
  readonly redirectCpuMs: number;
  /** Proxy CPU per ACS post (decode, signature and condition checks, replay store, Crowd session, redirect). */
  readonly acsCpuMs: number;
  /** Wall time of one ACS post, median (includes the fake Crowd's latency). */
  readonly acsWallP50Ms: number;
}

interface Answer {
  readonly status: number;
  readonly location: string | undefined;
  readonly cookies: string;
  readonly body: string;
}

const CONCURRENCY = 4;
/**
 * Login starts before the measured ones, not counted: a fresh process's first thousand or so cost up to twice what later
 * ones do (the optimising compiler has not reached them), and a flood meets a process that is long warm.
 */
const WARMUP_LOGIN_STARTS = 2_000;

function cpuMs(from: NodeJS.CpuUsage, to: NodeJS.CpuUsage): number {
  return (to.user - from.user + (to.system - from.system)) / 1000;
}

export async function measureLoginCost(options: LoginCostOptions): Promise<LoginCostResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const send = (method: 'GET' | 'POST', path: string, body?: string, cookie?: string): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = { host: options.host, accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
      if (cookie !== undefined) headers.cookie = cookie;
      if (body !== undefined) {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        headers['content-length'] = Buffer.byteLength(body);
      }
      const req = http.request({ host: '127.0.0.1', port: options.proxyPort, method, path, headers, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        // The cookie pairs it set (the login-binding cookie the ACS post must carry back).
        const cookies = (res.headers['set-cookie'] ?? []).map((line) => line.split(';', 1)[0] ?? '').join('; ');
        res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, cookies, body }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const inParallel = async <T>(count: number, task: (index: number) => Promise<T>): Promise<T[]> => {
    const results: T[] = new Array<T>(count);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const index = next++;
        results[index] = await task(index);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return results;
  };

  /** A page navigation without a session: the login-start page's link (starts the login). */
  const openPage = async (index: number): Promise<string> => {
    const page = await send('GET', `/browse/BENCH-${index}?focusedCommentId=${index}`);
    const link = /<a id="sign-in" href="([^"]*)">/.exec(page.body)?.[1]?.replaceAll('&amp;', '&');
    if (page.status !== 200 || link === undefined) throw new Error(`a page navigation without a session answered HTTP ${page.status}, not the login-start page`);
    return link;
  };
  const followLink = async (link: string) => {
    const answer = await send('GET', link);
    if (answer.status !== 302 || answer.location === undefined) throw new Error(`starting a login answered HTTP ${answer.status}, not a redirect to the IdP`);
    const location = new URL(answer.location);
    const request = parseAuthnRequest(location.searchParams.get('SAMLRequest') ?? '');
    return { requestId: request.id, acsUrl: request.acsUrl ?? '', relayState: location.searchParams.get('RelayState') ?? '', cookies: answer.cookies };
  };

  try {
    await inParallel(options.warmupLogins ?? WARMUP_LOGIN_STARTS, async (index) => followLink(await openPage(index)));
    const pageCpu = await options.proxyCpuUsage();
    const links = await inParallel(options.logins, openPage);
    const startCpu = await options.proxyCpuUsage();
    const started = await inParallel(options.logins, async (index) => followLink(links[index] as string));
    const startedCpu = await options.proxyCpuUsage();

    const idp = readDemoKeyPair('idp');
    const nowMs = Date.now();
    const forms = started.map((login, index) =>
      new URLSearchParams({
        SAMLResponse: buildSamlResponse({
          issuer: options.idpEntityId,
          destination: login.acsUrl,
          recipient: login.acsUrl,
          audience: options.spEntityId,
          inResponseTo: login.requestId,
          nameId: options.username,
          sessionIndex: `_bench${index}`,
          notBefore: new Date(nowMs - 30_000),
          notOnOrAfter: new Date(nowMs + 300_000),
          sign: 'assertion',
          privateKeyPem: idp.keyPem,
          certPem: idp.certPem,
        }),
        RelayState: login.relayState,
      }).toString(),
    );

    const acsCpu = await options.proxyCpuUsage();
    const wallMs = await inParallel(forms.length, async (index) => {
      const login = started[index] as (typeof started)[number];
      const begunMs = performance.now();
      const answer = await send('POST', new URL(login.acsUrl).pathname, forms[index], login.cookies);
      if (answer.status !== 303) throw new Error(`an ACS post answered HTTP ${answer.status}, not 303`);
      return performance.now() - begunMs;
    });
    const doneCpu = await options.proxyCpuUsage();
    const sortedWall = wallMs.sort((a, b) => a - b);
    return {
      logins: options.logins,
      startCpuMs: cpuMs(pageCpu, startedCpu) / options.logins,
      pageCpuMs: cpuMs(pageCpu, startCpu) / options.logins,
      redirectCpuMs: cpuMs(startCpu, startedCpu) / options.logins,
      acsCpuMs: cpuMs(acsCpu, doneCpu) / options.logins,
      acsWallP50Ms: sortedWall[Math.floor(sortedWall.length / 2)] ?? Number.NaN,
    };
  } finally {
    agent.destroy();
  }
}
