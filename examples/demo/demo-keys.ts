/**
 * The public demo/test key pairs in examples/demo/keys. Resolved from the source tree (the
 * nearest directory with package.json), so this works from ts sources and from dist/ alike.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type DemoKeyName = 'idp' | 'sp' | 'attacker';

export interface DemoKeyPair {
  readonly keyPem: string;
  readonly certPem: string;
}

export function demoKeysDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('demo keys: no package.json above this module; run the demo from the project checkout');
    dir = parent;
  }
  return join(dir, 'examples', 'demo', 'keys');
}

export function readDemoKeyPair(name: DemoKeyName): DemoKeyPair {
  const dir = demoKeysDir();
  return {
    keyPem: readFileSync(join(dir, `${name}.key`), 'utf8'),
    certPem: readFileSync(join(dir, `${name}.crt`), 'utf8'),
  };
}
