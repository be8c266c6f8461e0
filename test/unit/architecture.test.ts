/**
 * The import directions of README "Development": each folder imports only what the table below allows, and no
 * source file reaches itself again through its imports. Read from the sources as written (every `import … from` and
 * `export … from`), so a new arrow that runs back up fails here, not in a review.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import t from 'tap';
import { packageFilePath } from '../../src/config/package-file.js';

const SRC = packageFilePath('src');

/** The types-only files that carry data across a port: anyone may import their types (never their values: there are none). */
const TYPE_FILES = new Set(['crowd/crowd-types.ts', 'saml/saml-profile.ts', 'saml/saml-messages.ts', 'state/session-store.ts']);

/** Folder (or root file) → the folders it may import besides itself and errors.ts. */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  'errors.ts': [],
  config: [],
  policy: ['config'],
  identity: ['config'],
  crowd: ['config'],
  saml: ['config'],
  state: ['config'],
  observability: ['config'],
  flows: ['config', 'policy', 'identity'],
  proxy: ['config', 'policy'],
  http: ['config', 'policy', 'flows', 'proxy', 'observability'],
  app: ['config', 'policy', 'identity', 'flows', 'crowd', 'saml', 'state', 'proxy', 'http', 'observability'],
  'app.ts': ['app', 'config', 'policy', 'flows', 'crowd', 'saml', 'state', 'proxy', 'http', 'observability'],
  cli: ['app.ts', 'config'],
};

/** Named exceptions, each with its reason. */
const ALLOWED: Readonly<Record<string, string>> = {
  // The check command's live probes talk to Crowd, the IdP and Redis through the adapters themselves.
  'cli/check/run-check.ts -> crowd/crowd-client.ts': 'probe',
  'cli/check/run-check.ts -> saml/service-provider.ts': 'probe',
  'cli/check/check-store.ts -> state/redis-connection.ts': 'probe',
  'cli/check/check-store.ts -> state/redis-replay-store.ts': 'probe',
  'cli/check/check-store.ts -> state/redis-session-store.ts': 'probe',
  'cli/check/check-store.ts -> state/session-events.ts': 'probe',
  // The edge-proxy configurations strip exactly the headers the standalone forwarder strips.
  'cli/nginx-config.ts -> proxy/upstream-headers.ts': 'one list of removed headers',
  'cli/caddy-config.ts -> proxy/upstream-headers.ts': 'one list of removed headers',
  'cli/traefik-config.ts -> proxy/upstream-headers.ts': 'one list of removed headers',
};

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT = /^(import|export)\s+(type\s+)?([^'";]*?\sfrom\s+)?'(\.[^']+)'/gm;

function edgesOf(file: string): Edge[] {
  const text = readFileSync(file, 'utf8');
  const from = relative(SRC, file);
  return [...text.matchAll(IMPORT)].map((match) => {
    const target = relative(SRC, resolve(dirname(file), (match[4] as string).replace(/\.js$/, '.ts')));
    return { from, to: target, typeOnly: match[2] !== undefined || onlyTypes(match[3] ?? '') };
  });
}

/** `{ type A, type B } from `: every name imported is a type. */
function onlyTypes(clause: string): boolean {
  const names = /^\s*\{([^}]*)\}\s+from\s+$/.exec(clause)?.[1];
  if (names === undefined) return false;
  const entries = names.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  return entries.length > 0 && entries.every((entry) => entry.startsWith('type '));
}


const folderOf = (path: string): string => (path.includes('/') ? (path.split('/')[0] as string) : path);

const edges = sourceFiles(SRC).flatMap(edgesOf);

t.test('every import follows the folder table', async (t) => {
  const wrong: string[] = [];
  for (const edge of edges) {
    const from = folderOf(edge.from);
    const to = folderOf(edge.to);
    if (to === from || edge.to === 'errors.ts') continue;
    if (TYPE_FILES.has(edge.to) && edge.typeOnly && from !== 'errors.ts' && from !== 'config') continue;
    if (ALLOWED[`${edge.from} -> ${edge.to}`] !== undefined) continue;
    if (MAY_IMPORT[from]?.includes(to) !== true) wrong.push(`${edge.from} -> ${edge.to}${edge.typeOnly ? ' (types)' : ''}`);
  }
  t.same(wrong, [], 'no import outside the table');
});

t.test('adapters never import each other, the flows or the HTTP layer', async (t) => {
  const adapters = ['crowd', 'saml', 'state', 'observability'];
  const crossing = edges.filter((edge) => adapters.includes(folderOf(edge.from)) && folderOf(edge.to) !== folderOf(edge.from) && !['config', 'errors.ts'].includes(folderOf(edge.to)));
  t.same(crossing.map((edge) => `${edge.from} -> ${edge.to}`), []);
});

t.test('no source file imports itself again through others (value imports)', async (t) => {
  const next = new Map<string, string[]>();
  for (const edge of edges) if (!edge.typeOnly) next.set(edge.from, [...(next.get(edge.from) ?? []), edge.to]);
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const walk = (file: string, path: string[]): void => {
    state.set(file, 'open');
    for (const to of next.get(file) ?? []) {
      if (state.get(to) === 'open') cycles.push([...path.slice(path.indexOf(to)), to].join(' -> '));
      else if (state.get(to) === undefined) walk(to, [...path, to]);
    }
    state.set(file, 'done');
  };
  for (const file of next.keys()) if (state.get(file) === undefined) walk(file, [file]);
  t.same(cycles, []);
});

t.test('the scan sees the imports it checks', async (t) => {
  // A regex that matched nothing would pass every test above.
  t.ok(edges.some((edge) => edge.from === 'http/app-gate.ts' && edge.to === 'flows/forward-request.ts' && edge.typeOnly));
  t.ok(edges.some((edge) => edge.from === 'app/build-access-control.ts' && edge.to === 'flows/forward-request.ts' && !edge.typeOnly));
  t.ok(edges.length > 300, `${edges.length} imports read`);
});
