/**
 * The benchmark: starts the servers (each in its own process), runs every selected row for a bounded time and
 * returns what it measured. `bench/main.ts` prints it; the smoke test runs a couple of rows for a moment.
 *
 * Every row is measured against the same upstream, in the same run, so the ratios to the bare http-proxy row of the
 * same group are meaningful on any machine; the absolute numbers are not.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { readDemoKeyPair } from '../examples/demo/demo-keys.js';
import { loadConfig } from '../src/config/load-config.js';
import { packageFilePath } from '../src/config/package-file.js';
import type { TokenMemoryResult } from './bench-protocol.js';
import type { BenchProcess } from './bench-process.js';
import { startBenchProcess } from './bench-process.js';
import { createLatencyRecorder, type LatencyRecorder } from './latency-recorder.js';
import { DOWNLOAD_PATH } from './bench-upstream.js';
import { startCliProxy } from './cli-proxy.js';
import { pinThisProcess, type CpuPlan } from './cpu-plan.js';
import { freePort } from './free-port.js';
import { measureHttp, type LoadSlice } from './measure-http.js';
import { measureLoginCost, type LoginCostResult } from './measure-login-cost.js';
import { measureWebSocket } from './measure-websocket.js';
import { findNginx, startNginxProxy } from './nginx-proxy.js';
import { findApacheMellon, startApacheMellon } from './apache-mellon.js';
import { AUTH_CACHE_SECONDS, startNginxForwardAuth } from './nginx-forward-auth.js';
import { processTreeCpuUs } from './process-cpu.js';
import { checkReachesUpstream } from './upstream-check.js';

export type RowGroup = 'small' | 'download' | 'latency' | 'websocket';
export type RowTarget = 'direct' | 'http-proxy' | 'nginx' | 'sso-hit' | 'sso-miss' | 'sso-burst' | 'sso-workers' | 'apache-mellon' | 'nginx-forward-auth';

export interface RowSpec {
  /** `<group>/<target>`, e.g. `small/sso-hit`. */
  readonly id: string;
  readonly group: RowGroup;
  readonly target: RowTarget;
}

export interface CrowdCallCount {
  /** `POST /session/{token}` validations the fake Crowd received. */
  readonly validateCalls: number;
  /** Distinct tokens among them. */
  readonly distinctTokens: number;
  /** The most validations any one token got. */
  readonly maxCallsPerToken: number;
}

export interface MeasuredRow extends RowSpec {
  readonly kind: 'measured';
  /** Requests (or WebSocket round trips) per second. */
  readonly ratePerSecond: number;
  /** The same, per slice, in the order the slices ran (slice i of every row of a group ran in round i). */
  readonly sliceRates: readonly number[];
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Completed requests or round trips. */
  readonly completed: number;
  readonly failures: number;
  /**
   * CPU time of the proxy per request or round trip: its process (bare http-proxy, single-process crowd-sso-proxy),
   * all processes of a native server (nginx, Apache httpd), or both servers (nginx + crowd-sso-proxy in forward-auth).
   */
  readonly proxyCpuUs: number | undefined;
  /** The same, per server, when the row has more than one (forward-auth: nginx and crowd-sso-proxy). */
  readonly proxyCpuUsParts: Readonly<Record<string, number>> | undefined;
  /** Crowd token validations during the measured part (crowd-sso-proxy rows). */
  readonly crowd: CrowdCallCount | undefined;
  readonly note: string | undefined;
}

export interface SkippedRow extends RowSpec {
  readonly kind: 'skipped';
  readonly note: string;
}

export type BenchRow = MeasuredRow | SkippedRow;

export interface BenchOptions {
  /** Measured seconds per row, in `rounds` slices interleaved with the other rows of its group. */
  readonly durationSeconds: number;
  /** Slices per row (default 8): rows of a group take turns, so that a disturbance hits them alike. */
  readonly rounds?: number;
  readonly warmupSeconds: number;
  /** Row ids to run (default: all). */
  readonly rows?: readonly string[];
  /** Distinct tokens for the memory probe; 0 skips it. */
  readonly memoryTokens: number;
  /** Logins for the CPU-per-login measurement; 0 skips it. */
  readonly logins: number;
  /** Latency the fake Crowd adds to every answer. */
  readonly crowdLatencyMs: number;
  /** Signed-in users whose tokens the cache-hit rows rotate through (default 1000). */
  readonly signedInUsers?: number;
  /** Which CPUs run what (see cpu-plan.ts); undefined = unpinned. Pins this process to `load` for good. */
  readonly cpus?: CpuPlan | undefined;
  /** Where the single-process crowd-sso-proxy writes a V8 CPU profile (`--cpu-prof`) when it exits; undefined = none. */
  readonly proxyCpuProfileDir?: string | undefined;
  readonly progress: (line: string) => void;
}

export interface BenchReport {
  readonly machine: string;
  readonly options: Omit<BenchOptions, 'progress' | 'rows' | 'signedInUsers' | 'rounds' | 'cpus' | 'proxyCpuProfileDir'> & { readonly rounds: number };
  readonly cpus: CpuPlan | undefined;
  readonly connections: Readonly<Record<RowGroup, number>>;
  readonly cacheTtlSeconds: number;
  /** Signed-in users whose tokens the cache-hit rows rotate through. */
  readonly hitTokens: number;
  readonly rows: readonly BenchRow[];
  readonly memory: TokenMemoryResult | undefined;
  readonly login: LoginCostResult | undefined;
}

const GROUPS: Readonly<Record<RowGroup, readonly RowTarget[]>> = {
  small: ['direct', 'http-proxy', 'nginx', 'sso-hit', 'sso-miss', 'sso-burst', 'sso-workers', 'apache-mellon', 'nginx-forward-auth'],
  download: ['direct', 'http-proxy', 'nginx', 'sso-hit', 'sso-workers', 'apache-mellon', 'nginx-forward-auth'],
  latency: ['direct', 'http-proxy', 'nginx', 'sso-hit', 'apache-mellon', 'nginx-forward-auth'],
  websocket: ['direct', 'http-proxy', 'nginx', 'sso-hit'],
};

export const ALL_ROWS: readonly RowSpec[] = Object.entries(GROUPS).flatMap(([group, targets]) =>
  targets.map((target) => ({ id: `${group}/${target}`, group: group as RowGroup, target })),
);

const CONNECTIONS: Readonly<Record<RowGroup, number>> = { small: 32, download: 8, latency: 1, websocket: 32 };
const PATHS: Readonly<Record<RowGroup, string>> = { small: '/', download: DOWNLOAD_PATH, latency: '/', websocket: '/socket' };
const WEBSOCKET_MESSAGE_BYTES = 64;
const HOST = 'jira.bench.test';
const USERNAME = 'bench-user';
const PROXY_APP = { name: 'crowd-sso-proxy', password: 'bench-application-password' } as const;
const SP_ENTITY_ID = 'http://bench.test/_sso/saml/metadata';
const IDP_ENTITY_ID = 'http://idp.bench.test/metadata';
const SIGNED_IN_USERS = 1_000;
const WORKERS = 2;
/** Chance that a token missed one of 2 workers after 8 laps: 1/2⁸. */
const WORKERS_PRIMING_LAPS = 8;
const ROUNDS = 8;
/** Each token of the burst row is sent this many times in a row, by as many connections at once. */
const BURST_REPEAT = 16;
/** Upper bound on the cache-miss row's rate, to size its pool of never-seen tokens. */
const MISS_RATE_BOUND = 5_000;
const TOKEN_MEMORY_HEAP_MB = 2_048;
const CACHE_TTL_SECONDS = 900;

const cookieHeader = (token: string): string =>
  `JSESSIONID=8F2A1C7E4B9D06A3C5E1F7B2D4A6C8E0; atlassian.xsrf.token=B7Q2-XK4M-9P1L-ZC3W_5e1f0a9c2b7d4e6f8a0b1c3d5e7f9a2b4c6d8e0f_lin; crowd.token_key=${token}`;

function describeMachine(): string {
  const cores = cpus();
  return `${cores.length} × ${cores[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${platform()} ${release()}, Node.js ${process.version}`;
}

/** True once the configuration schema has the top-level `workers` key (node:cluster). */
function supportsWorkers(): boolean {
  const schema = JSON.parse(readFileSync(packageFilePath('schema/proxy.config.schema.json'), 'utf8')) as { properties?: Record<string, unknown> };
  return schema.properties?.['workers'] !== undefined;
}

function proxyConfig(crowdPort: number, upstreamPort: number, listen: { port: number; workers?: number }): Record<string, unknown> {
  return {
    listen: { host: '127.0.0.1', port: listen.port },
    ...(listen.workers === undefined ? {} : { workers: listen.workers }),
    publicScheme: 'http',
    stateSecret: 'bench-state-secret-0123456789-abcdefghijklmnopqrstuvwxyz',
    // As in production: the access log on (the default; it goes to /dev/null here) and metrics collected.
    logLevel: 'info',
    admin: { host: '127.0.0.1', port: 0 },
    apps: [{ name: 'jira', hosts: [HOST], upstream: `http://127.0.0.1:${upstreamPort}`, startPath: '/secure/Dashboard.jspa' }],
    // The nginx of the forward-auth row asks from 127.0.0.1 (the load generator sends no X-Forwarded-For).
    trustedProxies: ['127.0.0.1/32'],
    crowd: {
      baseUrl: `http://127.0.0.1:${crowdPort}/crowd`,
      applicationName: PROXY_APP.name,
      applicationPassword: PROXY_APP.password,
      // Longer than a whole run, so that tokens validated once stay cache hits in every group (the default is 60 s).
      cacheTtlSeconds: CACHE_TTL_SECONDS,
      // Every request of the load generator comes from 127.0.0.1: the cache-miss rows measure what a new token costs,
      // not the budget that keeps one address's made-up tokens from flooding Crowd.
      maxValidationsInFlightPerClient: 1_000,
      maxValidationsPerClientPerSecond: 1_000_000,
    },
    saml: {
      spEntityId: SP_ENTITY_ID,
      idp: { entityId: IDP_ENTITY_ID, ssoUrl: 'http://idp.bench.test/sso', signingCerts: [readDemoKeyPair('idp').certPem] },
      // The login-cost row measures what a login start costs, not the budget that keeps one address from flooding.
      maxLoginStartsPerClientPerMinute: 1_000_000,
    },
  };
}

/** Cookie rotations: every request of a row takes its Crowd token from one of these. */
interface TokenRotation {
  next(): string;
  /** Requests that got a token already handed out, because the pool ran out (matters for the cache-miss rows only). */
  readonly reused: number;
}

/** A row being measured: its load settings and what its slices added up to so far. */
interface RowRun {
  readonly row: RowSpec;
  readonly port: number;
  readonly rotation: TokenRotation;
  readonly connections: number;
  /** Reads the CPU time (µs) each server of the row has used so far, when the row measures it. */
  readonly cpu: CpuMeter | undefined;
  /** The Cookie header of the next request. */
  readonly cookie: () => string;
  readonly countsCrowd: boolean;
  readonly latencies: LatencyRecorder;
  completed: number;
  failures: number;
  seconds: number;
  readonly sliceRates: number[];
  /** CPU µs per server over the measured slices. */
  readonly cpuUs: Map<string, number>;
  /** Token → validations the fake Crowd received for it during this row's slices. */
  readonly validations: Map<string, number>;
  reused: number;
  /** Forward-auth: requests nginx asked crowd-sso-proxy about (the rest its auth cache answered). */
  authCalls: number;
}

type CpuMeter = () => Promise<Readonly<Record<string, number>> | undefined>;

const processCpu = (proxy: BenchProcess): Promise<number> => proxy.ask({ kind: 'cpu-usage' }).then((usage) => usage.user + usage.system);

function roundRobin(tokens: readonly string[], repeat = 1): TokenRotation {
  let index = 0;
  return {
    next: () => tokens[Math.floor(index++ / repeat) % tokens.length] as string,
    get reused() {
      return Math.max(0, index - tokens.length * repeat);
    },
  };
}

export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const selected = options.rows === undefined ? ALL_ROWS : ALL_ROWS.filter((row) => options.rows?.includes(row.id));
  const unknown = (options.rows ?? []).filter((id) => !ALL_ROWS.some((row) => row.id === id));
  if (unknown.length > 0) throw new Error(`unknown benchmark rows: ${unknown.join(', ')}; known: ${ALL_ROWS.map((row) => row.id).join(', ')}`);
  const needs = (...targets: RowTarget[]): boolean => selected.some((row) => targets.includes(row.target));
  const needsSso = needs('sso-hit', 'sso-miss', 'sso-burst', 'sso-workers', 'nginx-forward-auth') || options.logins > 0;
  const dir = mkdtempSync(join(tmpdir(), 'crowd-sso-proxy-bench-'));
  const closers: (() => Promise<void>)[] = [];
  const starting: Promise<unknown>[] = [];
  /** Starts a server; whatever happens to the others, it is closed at the end. */
  const start = <T extends { close(): Promise<void> }>(server: Promise<T>): Promise<T> => {
    const registered = server.then((running) => {
      closers.unshift(() => running.close());
      return running;
    });
    starting.push(registered.catch(() => undefined));
    return registered;
  };
  const progress = options.progress;
  const hitTokenCount = options.signedInUsers ?? SIGNED_IN_USERS;
  const rounds = options.rounds ?? ROUNDS;
  const cpus = options.cpus;
  // The load generator (autocannon, ws) runs in this process.
  if (cpus !== undefined) pinThisProcess(cpus.load);

  try {
    const cacheDefaults = await defaultCacheSettings(dir);
    progress('starting the upstream, the bare http-proxy, nginx, Apache httpd + mellon, the fake Crowd and crowd-sso-proxy');
    const [upstream, crowd, probe] = await Promise.all([
      start(startBenchProcess({ role: 'upstream' }, { cpuList: cpus?.load })),
      needsSso ? start(startBenchProcess({ role: 'fake-crowd', applicationName: PROXY_APP.name, applicationPassword: PROXY_APP.password, username: USERNAME }, { cpuList: cpus?.load })) : undefined,
      options.memoryTokens > 0 ? start(startBenchProcess({ role: 'probe' }, { execArgv: ['--expose-gc', `--max-old-space-size=${TOKEN_MEMORY_HEAP_MB}`], cpuList: cpus?.load })) : undefined,
    ]);
    const nginxBinary = needs('nginx', 'nginx-forward-auth') ? findNginx() : undefined;
    const apacheInstall = needs('apache-mellon') ? findApacheMellon() : undefined;
    const workersNote = supportsWorkers() ? undefined : 'pending: the configuration has no `workers` key yet';
    const workersPort = crowd !== undefined && needs('sso-workers') && workersNote === undefined ? await freePort() : undefined;
    const configFile = (name: string, listen: { port: number; workers?: number }): string => {
      const path = join(dir, name);
      writeFileSync(path, JSON.stringify(proxyConfig(crowd?.port ?? 0, upstream.port, listen), null, 2));
      return path;
    };
    const [bare, nginx, sso, workers, apache] = await Promise.all([
      needs('http-proxy') ? start(startBenchProcess({ role: 'bare-http-proxy', upstreamPort: upstream.port }, { cpuList: cpus?.proxy })) : undefined,
      nginxBinary === undefined || !needs('nginx') ? undefined : start(startNginxProxy(nginxBinary, upstream.port, cpus?.proxy)),
      crowd === undefined
        ? undefined
        : start(
            startBenchProcess(
              { role: 'sso-proxy', configPath: configFile('proxy.config.json', { port: 0 }) },
              { cpuList: cpus?.proxy, execArgv: options.proxyCpuProfileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', options.proxyCpuProfileDir] },
            ),
          ),
      workersPort === undefined ? undefined : start(startCliProxy(configFile('proxy-workers.config.json', { port: workersPort, workers: WORKERS }), workersPort, cpus?.all)),
      // A row that cannot sign in through mellon is skipped with the reason, not the whole run.
      apacheInstall === undefined
        ? undefined
        : start(startApacheMellon(apacheInstall, { upstreamPort: upstream.port, host: HOST, cpuList: cpus?.proxy })).catch((error: unknown) => `skipped: ${error instanceof Error ? error.message : String(error)}`),
    ]);
    // nginx and crowd-sso-proxy share the proxy's CPU, as Apache httpd has it alone: the whole of each setup on one core.
    const forwardAuth =
      nginxBinary === undefined || sso === undefined || !needs('nginx-forward-auth')
        ? undefined
        : await start(startNginxForwardAuth(nginxBinary, { upstreamPort: upstream.port, ssoPort: sso.port }, cpus?.proxy));

    const missTokensWanted = needs('sso-miss') ? Math.ceil(MISS_RATE_BOUND * (options.durationSeconds + options.warmupSeconds)) : 0;
    const burstTokensWanted = needs('sso-burst') ? Math.ceil((MISS_RATE_BOUND * (options.durationSeconds + options.warmupSeconds)) / BURST_REPEAT) : 0;
    // Rows without crowd-sso-proxy send cookies of the same shape, so that every row costs the load generator the same.
    let hitTokens: readonly string[] = Array.from({ length: hitTokenCount }, (_, index) => `unused${String(index).padStart(18, '0')}`);
    let missTokens: readonly string[] = [];
    let burstTokens: readonly string[] = [];
    if (crowd !== undefined) {
      progress(`creating ${hitTokenCount + missTokensWanted + burstTokensWanted} Crowd sessions at the fake Crowd`);
      const tokens = await crowd.ask({ kind: 'crowd-sessions', count: hitTokenCount + missTokensWanted + burstTokensWanted });
      hitTokens = tokens.slice(0, hitTokenCount);
      missTokens = tokens.slice(hitTokenCount, hitTokenCount + missTokensWanted);
      burstTokens = tokens.slice(hitTokenCount + missTokensWanted);
      await crowd.ask({ kind: 'crowd-latency', latencyMs: options.crowdLatencyMs });
    }
    const hits = roundRobin(hitTokens);
    const forwardAuthProblem = forwardAuth === undefined ? undefined : await checkReachesUpstream(forwardAuth.port, HOST, cookieHeader(hitTokens[0] as string));

    const portOf = (target: RowTarget): number | string => {
      switch (target) {
        case 'direct':
          return upstream.port;
        case 'http-proxy':
          return bare?.port ?? 'not started';
        case 'nginx':
          return nginx?.port ?? 'skipped: nginx is not installed (Debian package `nginx`)';
        case 'sso-workers':
          return workers === undefined || workersPort === undefined ? (workersNote ?? 'not started') : workersPort;
        case 'apache-mellon':
          if (typeof apache === 'string') return apache;
          return apache?.port ?? 'skipped: Apache httpd with mod_auth_mellon is not installed (Debian packages `apache2`, `libapache2-mod-auth-mellon`)';
        case 'nginx-forward-auth':
          if (nginxBinary === undefined) return 'skipped: nginx is not installed (Debian package `nginx`)';
          if (forwardAuthProblem !== undefined) return `skipped: nginx + crowd-sso-proxy forward-auth: ${forwardAuthProblem}`;
          return forwardAuth?.port ?? 'not started';
        default:
          return sso?.port ?? 'not started';
      }
    };

    const rows: BenchRow[] = [];
    for (const group of Object.keys(GROUPS) as RowGroup[]) {
      const groupRows = selected.filter((row) => row.group === group);
      const running: RowRun[] = [];
      for (const row of groupRows) {
        const port = portOf(row.target);
        if (typeof port === 'string') rows.push({ ...row, kind: 'skipped', note: port });
        else running.push(await prepareRow(row, port));
      }
      for (let round = 0; round < rounds; round += 1) {
        for (const run of running) {
          progress(`row ${run.row.id}, slice ${round + 1} of ${rounds}`);
          await measureSlice(run);
        }
      }
      rows.push(...running.map(finishRow));
    }
    const order = (row: BenchRow): number => ALL_ROWS.findIndex((candidate) => candidate.id === row.id);
    rows.sort((a, b) => order(a) - order(b));

    let login: LoginCostResult | undefined;
    if (options.logins > 0 && sso !== undefined) {
      progress(`${options.logins} logins through the ACS`);
      const proxy = sso;
      login = await measureLoginCost({
        proxyPort: proxy.port,
        host: HOST,
        idpEntityId: IDP_ENTITY_ID,
        spEntityId: SP_ENTITY_ID,
        username: USERNAME,
        logins: options.logins,
        proxyCpuUsage: () => proxy.ask({ kind: 'cpu-usage' }),
      });
    }

    let memory: TokenMemoryResult | undefined;
    if (probe !== undefined) {
      progress(`${options.memoryTokens} distinct tokens through the token cache`);
      memory = await probe.ask({ kind: 'token-memory', tokens: options.memoryTokens, ...cacheDefaults });
    }

    return {
      machine: describeMachine(),
      cpus,
      options: { durationSeconds: options.durationSeconds, rounds, warmupSeconds: options.warmupSeconds, memoryTokens: options.memoryTokens, logins: options.logins, crowdLatencyMs: options.crowdLatencyMs },
      connections: CONNECTIONS,
      cacheTtlSeconds: cacheDefaults.ttlMs / 1000,
      hitTokens: hitTokenCount,
      rows,
      memory,
      login,
    };

    /** Primes the cache (cache-hit rows) and warms the row up; nothing of this is measured. */
    async function prepareRow(row: RowSpec, port: number): Promise<RowRun> {
      // One connection is one browser, so one user: the 1-connection rows send one signed-in user's cookie (with 1,000
      // users on one connection, nginx's per-cookie auth cache would make every row's tail the product's misses).
      const oneUser = roundRobin(hitTokens.slice(0, 1));
      const rotation =
        row.target === 'sso-miss' ? roundRobin(missTokens) : row.target === 'sso-burst' ? roundRobin(burstTokens, BURST_REPEAT) : row.group === 'latency' ? oneUser : hits;
      const connections = row.target === 'sso-burst' ? BURST_REPEAT * 4 : CONNECTIONS[row.group];
      const isSso = row.target.startsWith('sso-') || row.target === 'nginx-forward-auth';
      const mellonCookie = typeof apache === 'object' && row.target === 'apache-mellon' ? `; ${apache.sessionCookie}` : '';
      const run: RowRun = {
        row,
        port,
        rotation,
        connections,
        cpu: cpuMeter(row.target),
        // The mellon row sends the same Crowd-shaped cookies as every row, plus its session.
        cookie: () => `${cookieHeader(rotation.next())}${mellonCookie}`,
        countsCrowd: isSso && crowd !== undefined,
        latencies: createLatencyRecorder(),
        completed: 0,
        failures: 0,
        seconds: 0,
        sliceRates: [],
        cpuUs: new Map(),
        validations: new Map(),
        reused: 0,
        authCalls: 0,
      };
      if ((row.target === 'sso-hit' || row.target === 'sso-workers' || row.target === 'nginx-forward-auth') && crowd !== undefined) {
        // Every signed-in user's token validated before the row. The cluster hands each connection to one worker, and
        // every worker has its own cache: enough laps that each token has reached each worker.
        const laps = row.target === 'sso-workers' ? WORKERS_PRIMING_LAPS : 1;
        progress(`row ${row.id}: priming the token cache`);
        await measureHttp({ url: `http://127.0.0.1:${port}/`, host: HOST, connections: 16, durationSeconds: 120, requests: hitTokens.length * laps, nextCookieHeader: () => cookieHeader(hits.next()), latencies: createLatencyRecorder() });
      }
      if (options.warmupSeconds > 0) {
        progress(`row ${row.id}: warm-up`);
        await load(run, options.warmupSeconds, createLatencyRecorder());
      }
      return run;
    }

    function load(run: RowRun, durationSeconds: number, latencies: LatencyRecorder): Promise<LoadSlice> {
      if (run.row.group === 'websocket') {
        return measureWebSocket({ url: `ws://127.0.0.1:${run.port}${PATHS.websocket}`, host: HOST, cookieHeader: cookieHeader(hits.next()), connections: run.connections, durationSeconds, messageBytes: WEBSOCKET_MESSAGE_BYTES, latencies });
      }
      return measureHttp({ url: `http://127.0.0.1:${run.port}${PATHS[run.row.group]}`, host: HOST, connections: run.connections, durationSeconds, nextCookieHeader: run.cookie, latencies });
    }

    /** What measures the CPU of the row's servers, if anything does. */
    function cpuMeter(target: RowTarget): CpuMeter | undefined {
      const tree = (pid: number): Promise<number | undefined> => Promise.resolve(processTreeCpuUs(pid));
      const parts =
        (meters: Record<string, () => Promise<number | undefined>>): CpuMeter =>
        async () => {
          const entries = await Promise.all(Object.entries(meters).map(async ([name, read]) => [name, await read()] as const));
          return entries.every(([, value]) => value !== undefined) ? Object.fromEntries(entries as (readonly [string, number])[]) : undefined;
        };
      switch (target) {
        case 'http-proxy':
          return bare === undefined ? undefined : parts({ 'http-proxy': () => processCpu(bare) });
        case 'nginx':
          return nginx === undefined ? undefined : parts({ nginx: () => tree(nginx.pid) });
        case 'apache-mellon':
          return typeof apache !== 'object' ? undefined : parts({ httpd: () => tree(apache.pid) });
        case 'nginx-forward-auth':
          return forwardAuth === undefined || sso === undefined ? undefined : parts({ nginx: () => tree(forwardAuth.pid), 'crowd-sso-proxy': () => processCpu(sso) });
        case 'sso-hit':
        case 'sso-miss':
        case 'sso-burst':
          return sso === undefined ? undefined : parts({ 'crowd-sso-proxy': () => processCpu(sso) });
        default:
          return undefined;
      }
    }

    async function measureSlice(run: RowRun): Promise<void> {
      const reusedBefore = run.rotation.reused;
      if (run.countsCrowd) await crowd?.ask({ kind: 'crowd-mark' });
      const asksSso = run.row.target === 'nginx-forward-auth' ? sso : undefined;
      if (asksSso !== undefined && options.warmupSeconds > 0) {
        // nginx's auth cache keeps an answer for seconds, and more than that passes while the other rows of the group
        // take their turn: an unmeasured lead-in as long as its lifetime brings the cache back to the state that
        // continuous load keeps it in (what a Node-side cache with a 15-minute TTL never needs).
        await load(run, AUTH_CACHE_SECONDS, createLatencyRecorder());
      }
      const lookupsBefore = await asksSso?.ask({ kind: 'token-lookups' });
      const cpuBefore = await run.cpu?.();
      const slice = await load(run, options.durationSeconds / rounds, run.latencies);
      const cpuAfter = await run.cpu?.();
      const lookupsAfter = await asksSso?.ask({ kind: 'token-lookups' });
      if (lookupsBefore !== undefined && lookupsAfter !== undefined) run.authCalls += lookupsAfter - lookupsBefore;
      if (run.countsCrowd) {
        for (const [token, calls] of (await crowd?.ask({ kind: 'crowd-calls' })) ?? []) run.validations.set(token, (run.validations.get(token) ?? 0) + calls);
      }
      if (cpuBefore !== undefined && cpuAfter !== undefined) {
        for (const [name, after] of Object.entries(cpuAfter)) run.cpuUs.set(name, (run.cpuUs.get(name) ?? 0) + after - (cpuBefore[name] ?? after));
      }
      run.completed += slice.completed;
      run.failures += slice.failures;
      run.seconds += slice.elapsedSeconds;
      run.sliceRates.push(slice.elapsedSeconds > 0 ? slice.completed / slice.elapsedSeconds : 0);
      run.reused += run.rotation.reused - reusedBefore;
    }

    function finishRow(run: RowRun): MeasuredRow {
      const latency = run.latencies.summary();
      let validateCalls = 0;
      let maxCallsPerToken = 0;
      for (const calls of run.validations.values()) {
        validateCalls += calls;
        maxCallsPerToken = Math.max(maxCallsPerToken, calls);
      }
      const notes = [
        run.row.target === 'sso-burst' ? `each token sent ${BURST_REPEAT}× by ${run.connections} connections at once` : undefined,
        run.row.target === 'sso-workers' ? 'each worker has its own token cache' : undefined,
        run.row.target === 'apache-mellon' ? `every request with the mellon session of one login at start-up` : undefined,
        run.row.target === 'nginx-forward-auth'
          ? `auth_request to crowd-sso-proxy, allowing answers cached by nginx for ${AUTH_CACHE_SECONDS} s: crowd-sso-proxy asked ${run.completed + run.failures > 0 ? Math.round((100 * run.authCalls) / (run.completed + run.failures)) : 0} times per 100 requests`
          : undefined,
        // Only the pools of never-seen tokens can run out; the signed-in users' tokens are meant to come round again.
        (run.row.target === 'sso-miss' || run.row.target === 'sso-burst') && run.reused > 0 ? `token pool ran out: ${run.reused} requests reused a token` : undefined,
      ].filter((note): note is string => note !== undefined);
      return {
        ...run.row,
        kind: 'measured',
        ratePerSecond: run.seconds > 0 ? run.completed / run.seconds : 0,
        sliceRates: run.sliceRates,
        p50Ms: latency.p50Ms,
        p99Ms: latency.p99Ms,
        completed: run.completed,
        failures: run.failures,
        proxyCpuUs: run.cpu !== undefined && run.completed > 0 ? [...run.cpuUs.values()].reduce((sum, us) => sum + us, 0) / run.completed : undefined,
        proxyCpuUsParts: run.cpu !== undefined && run.completed > 0 && run.cpuUs.size > 1 ? Object.fromEntries([...run.cpuUs].map(([name, us]) => [name, us / run.completed])) : undefined,
        crowd: run.countsCrowd ? { validateCalls, distinctTokens: run.validations.size, maxCallsPerToken } : undefined,
        note: notes.length > 0 ? notes.join('; ') : undefined,
      };
    }
  } finally {
    await Promise.allSettled(starting);
    for (const close of closers) await close().catch((error: unknown) => progress(`closing a benchmark server failed: ${String(error)}`));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The token cache settings of the benchmark configuration: the shipped defaults, except the longer TTL. */
async function defaultCacheSettings(dir: string): Promise<{ maxEntries: number; ttlMs: number; negativeTtlMs: number }> {
  const path = join(dir, 'defaults.config.json');
  writeFileSync(path, JSON.stringify(proxyConfig(1, 1, { port: 0 })));
  const config = await loadConfig(path, { env: {} });
  return { maxEntries: config.crowd.cacheMaxEntries, ttlMs: config.crowd.cacheTtlMs, negativeTtlMs: config.crowd.negativeCacheTtlMs };
}
