import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ConfigProblem } from '../errors.js';

/**
 * A secret as written in the configuration file: a string in which `${VAR}` and `${VAR:-default}`
 * are replaced from the environment, or `{ "file": "path" }` whose contents are the value.
 */
export type SecretSpec = string | { readonly file: string };

export interface SecretContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory that relative `file` paths are resolved against (the configuration file's directory). */
  readonly baseDir: string;
}

export type SecretResult =
  | { readonly kind: 'value'; readonly value: string }
  | { readonly kind: 'problem'; readonly problem: ConfigProblem };

/** `NAME` or `NAME:-default` between `${` and `}`. */
const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/**
 * The value of the secret at `keyPath`. Problems name the key and the variable or file, never the value.
 * Also reads any other file the configuration names (certificates, metadata): `{ file }` with the same
 * messages.
 */
export async function resolveSecret(spec: SecretSpec, keyPath: string, context: SecretContext): Promise<SecretResult> {
  if (typeof spec === 'string') return interpolate(spec, keyPath, context.env);
  const path = resolve(context.baseDir, spec.file);
  let contents: string;
  try {
    contents = await readFile(path, 'utf8');
  } catch (error) {
    return problem(keyPath, `cannot read file "${path}": ${fileErrorReason(error)}`);
  }
  const value = contents.replace(/[\r\n]+$/, '');
  return value === '' ? problem(keyPath, `file "${path}" is empty`) : { kind: 'value', value };
}

/** Plain words for a failed file read (`does not exist`, `permission denied`, ...). */
export function fileErrorReason(error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
  switch (code) {
    case 'ENOENT':
      return 'it does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied; let the user running the proxy read it';
    case 'EISDIR':
      return 'it is a directory, not a file';
    default:
      return code ?? (error instanceof Error ? error.message : String(error));
  }
}

function interpolate(text: string, keyPath: string, env: SecretContext['env']): SecretResult {
  let value = '';
  let rest = text;
  for (let start = rest.indexOf('${'); start !== -1; start = rest.indexOf('${')) {
    const end = rest.indexOf('}', start);
    const reference = end === -1 ? null : REFERENCE.exec(rest.slice(start + 2, end));
    if (reference === null) {
      return problem(keyPath, 'contains "${" that does not start a ${NAME} or ${NAME:-default} reference; use {"file": "<path>"} for values containing "${"');
    }
    const [, name = '', fallback] = reference;
    const variable = env[name];
    let replacement: string;
    if (variable !== undefined && variable !== '') replacement = variable;
    else if (fallback !== undefined) replacement = fallback;
    else return problem(keyPath, `environment variable ${name} is ${variable === undefined ? 'not set' : 'empty'}`);
    value += rest.slice(0, start) + replacement;
    rest = rest.slice(end + 1);
  }
  value += rest;
  return value === '' ? problem(keyPath, 'is empty after replacing environment variables') : { kind: 'value', value };
}

function problem(path: string, message: string): SecretResult {
  return { kind: 'problem', problem: { path, message } };
}
