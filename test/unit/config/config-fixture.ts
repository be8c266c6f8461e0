import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../src/config/load-config.js';
import type { RuntimeConfig } from '../../../src/config/runtime-config.js';
import { ConfigError } from '../../../src/errors.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The demo keys (public, test only), to be placed next to a test's configuration file. */
export function demoKeyFiles(): Record<string, string> {
  return Object.fromEntries(
    ['sp.key', 'sp.crt', 'idp.key', 'idp.crt'].map((name) => [name, readFileSync(join(REPO_ROOT, 'examples/demo/keys', name), 'utf8')]),
  );
}

export const STATE_SECRET = 'test-state-secret-0123456789-abcdef';

/** The smallest valid configuration: every optional key left to its default. */
export function minimalConfig(): Record<string, unknown> {
  return {
    stateSecret: STATE_SECRET,
    apps: [{ name: 'jira', hosts: ['jira.example.com'], upstream: 'http://127.0.0.1:8080' }],
    crowd: { baseUrl: 'https://crowd.example.com/crowd', applicationName: 'crowd-sso-proxy', applicationPassword: 'app-secret' },
    saml: { spEntityId: 'https://jira.example.com/_sso/saml/metadata', idp: { metadataUrl: 'https://idp.example.com/metadata' } },
  };
}

/**
 * A copy of `config` with the given key paths (`apps[0].hosts`, `crowd.timeoutMs`) set; `undefined` removes the key.
 */
export function withChanges(config: Record<string, unknown>, changes: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(config);
  for (const [path, value] of Object.entries(changes)) {
    const segments = path.split(/\.|\[(\d+)\]/).filter((s) => s !== undefined && s !== '');
    let parent: Record<string, unknown> = copy;
    for (const segment of segments.slice(0, -1)) {
      parent[segment] ??= {};
      parent = parent[segment] as Record<string, unknown>;
    }
    const last = segments.at(-1) ?? '';
    if (value === undefined) delete parent[last];
    else parent[last] = structuredClone(value);
  }
  return copy;
}

export interface LoadOutcome {
  readonly config: RuntimeConfig | undefined;
  /** Every problem as the CLI prints it: `path: message`. */
  readonly problems: readonly string[];
}

/** Writes `text` (or `config` as JSON) to `<dir>/proxy.config.json` and loads it. */
export async function loadFrom(
  dir: string,
  config: Record<string, unknown> | string,
  env: Record<string, string | undefined> = {},
): Promise<LoadOutcome> {
  const file = join(dir, 'proxy.config.json');
  await writeFile(file, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  try {
    return { config: await loadConfig(file, { env }), problems: [] };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { config: undefined, problems: error.problems.map((p) => (p.path === '' ? p.message : `${p.path}: ${p.message}`)) };
  }
}
