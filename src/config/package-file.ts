import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Absolute path of a file shipped at the package root (`package.json`, `schema/…`).
 * Searched upwards from this module, so it is found from the TypeScript sources and from the
 * compiled `dist/src/` tree alike.
 */
export function packageFilePath(relativePath: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, relativePath);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`crowd-sso-proxy is installed incompletely: its file ${relativePath} is missing; reinstall the package`);
    }
    dir = parent;
  }
}
