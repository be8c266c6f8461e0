/**
 * Entry of a benchmark server process (see bench-process.ts): starts the server its spec names, reports its port
 * and answers the runner's requests until told to close. Every role answers `cpu-usage` (its own process's CPU time).
 */
import { Pool } from 'undici';
import { startFakeCrowd, type FakeCrowd } from '../examples/demo/fake-crowd.js';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/load-config.js';
import { startBareHttpProxy } from './bare-http-proxy.js';
import { startBenchUpstream } from './bench-upstream.js';
import type { BenchReplies, BenchRequest, BenchRequestEnvelope, BenchServerMessage, BenchServerSpec, CrowdValidations } from './bench-protocol.js';
import { measureTokenMemory } from './token-memory.js';

interface Running {
  readonly port: number;
  answer(request: BenchRequest): Promise<BenchReplies[BenchRequest['kind']]>;
  close(): Promise<unknown>;
}

const SESSION_CREATION_CONCURRENCY = 16;

function send(message: BenchServerMessage): void {
  process.send?.(message);
}

function unsupported(role: string, request: BenchRequest): never {
  throw new Error(`the ${role} process does not answer "${request.kind}"`);
}

function countValidations(crowd: FakeCrowd, from: number): CrowdValidations {
  const perToken = new Map<string, number>();
  for (let index = from; index < crowd.calls.length; index += 1) {
    const call = crowd.calls[index];
    if (call === undefined || call.method !== 'POST' || !call.path.startsWith('/session/')) continue;
    const token = call.path.slice('/session/'.length).split('?')[0] as string;
    perToken.set(token, (perToken.get(token) ?? 0) + 1);
  }
  return [...perToken];
}

/** Sessions made through the fake Crowd's own REST API, as the proxy's ACS makes them. */
async function createSessions(crowd: FakeCrowd, spec: Extract<BenchServerSpec, { role: 'fake-crowd' }>, count: number): Promise<string[]> {
  const tokens: string[] = [];
  const pool = new Pool(`http://127.0.0.1:${crowd.port}`, { connections: SESSION_CREATION_CONCURRENCY });
  const authorization = `Basic ${Buffer.from(`${spec.applicationName}:${spec.applicationPassword}`).toString('base64')}`;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      // Crowd hands out the same session again for the same user and factors: every session gets its own address.
      const remoteAddress = `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`;
      const response = await pool.request({
        method: 'POST',
        path: '/crowd/rest/usermanagement/1/session?validate-password=false',
        headers: { authorization, accept: 'application/json', 'content-type': 'application/json' },
        body: JSON.stringify({ username: spec.username, 'validation-factors': { validationFactors: [{ name: 'remote_address', value: remoteAddress }] } }),
      });
      const session = (await response.body.json()) as { token?: string };
      if (response.statusCode !== 201 || typeof session.token !== 'string') throw new Error(`the fake Crowd refused a session: HTTP ${response.statusCode}`);
      tokens.push(session.token);
    }
  };
  try {
    await Promise.all(Array.from({ length: SESSION_CREATION_CONCURRENCY }, worker));
  } finally {
    await pool.close();
  }
  return tokens;
}

/** Every time the proxy looked a Crowd token up (a request with a Crowd cookie), from its Prometheus metrics. */
async function tokenLookups(adminPort: number | undefined): Promise<number> {
  if (adminPort === undefined) throw new Error('crowd-sso-proxy has no admin listener to read its metrics from');
  const response = await fetch(`http://127.0.0.1:${adminPort}/metrics`);
  const text = await response.text();
  let lookups = 0;
  for (const match of text.matchAll(/^crowd_sso_proxy_token_cache_(?:hits|misses)_total(?:\{[^}]*\})? (\d+(?:\.\d+)?(?:e\+?\d+)?)$/gm)) lookups += Number(match[1]);
  return lookups;
}

async function start(spec: BenchServerSpec): Promise<Running> {
  switch (spec.role) {
    case 'upstream': {
      const upstream = await startBenchUpstream();
      return { port: upstream.port, answer: (request) => unsupported(spec.role, request), close: () => upstream.close() };
    }
    case 'bare-http-proxy': {
      const proxy = await startBareHttpProxy(spec.upstreamPort);
      return { port: proxy.port, answer: (request) => unsupported(spec.role, request), close: () => proxy.close() };
    }
    case 'fake-crowd': {
      const crowd = await startFakeCrowd({
        cookieConfig: { name: 'crowd.token_key', domain: '', secure: false },
        applications: { [spec.applicationName]: { password: spec.applicationPassword, allowGenerateUserTokens: true } },
        users: [{ name: spec.username }],
      });
      let mark = 0;
      return {
        port: crowd.port,
        async answer(request) {
          switch (request.kind) {
            case 'crowd-mark':
              mark = crowd.calls.length;
              return null;
            case 'crowd-calls':
              return countValidations(crowd, mark);
            case 'crowd-sessions':
              return createSessions(crowd, spec, request.count);
            case 'crowd-latency':
              crowd.settings.latencyMs = request.latencyMs;
              return null;
            default:
              return unsupported(spec.role, request);
          }
        },
        close: () => crowd.close(),
      };
    }
    case 'sso-proxy': {
      const app = await createApp(await loadConfig(spec.configPath, { env: process.env }));
      const address = await app.listen();
      return {
        port: address.port,
        answer: (request) => (request.kind === 'token-lookups' ? tokenLookups(app.adminAddress()?.port) : unsupported(spec.role, request)),
        close: () => app.close(),
      };
    }
    case 'probe':
      return {
        port: 0,
        answer: (request) => (request.kind === 'token-memory' ? measureTokenMemory(request) : unsupported(spec.role, request)),
        close: () => Promise.resolve(),
      };
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as BenchServerSpec;
  const running = await start(spec);
  process.on('message', (envelope: BenchRequestEnvelope) => {
    const { id, request } = envelope;
    if (request.kind === 'cpu-usage') {
      send({ kind: 'reply', id, value: process.cpuUsage() });
      return;
    }
    if (request.kind === 'close') {
      // Exits even if a library left a handle open: the runner waits for the exit.
      void running.close().finally(() => process.send?.({ kind: 'reply', id, value: null }, () => process.exit(0)));
      return;
    }
    running.answer(request).then(
      (value) => send({ kind: 'reply', id, value }),
      (error: unknown) => send({ kind: 'failed', id, message: error instanceof Error ? error.message : String(error) }),
    );
  });
  // The runner is gone (it crashed or was killed): stop instead of lingering.
  process.once('disconnect', () => void running.close().finally(() => process.exit(0)));
  send({ kind: 'ready', port: running.port });
}

main().catch((error: unknown) => {
  const message: BenchServerMessage = { kind: 'failed', id: undefined, message: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  process.send?.(message, () => process.exit(1));
});
