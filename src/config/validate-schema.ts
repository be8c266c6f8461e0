import { readFile } from 'node:fs/promises';
import { Ajv, type AnySchemaObject, type ErrorObject, type ValidateFunction } from 'ajv';
import formatsModule from 'ajv-formats';
import type { ConfigProblem } from '../errors.js';
import { packageFilePath } from './package-file.js';

/** What the JSON Schema says about a parsed configuration file. */
export interface SchemaValidation {
  /** Every schema violation, with key paths such as `apps[1].upstream`. */
  readonly problems: readonly ConfigProblem[];
  /**
   * The value at `path` when it exists and the schema found nothing wrong at or below it, else undefined.
   * The caller names the type the schema guarantees there; semantic checks use this to look only at
   * parts that are well-formed, so that they can report their problems next to the schema's.
   */
  validAt<T>(...path: readonly (string | number)[]): T | undefined;
  /** The value at `path` as written, valid or not (to tell "missing" from "wrong"). */
  rawAt(...path: readonly (string | number)[]): unknown;
}

/** Schema keywords read by editors and by the messages below, not by validation. */
const ANNOTATION_KEYWORDS = ['errorMessage', 'patternErrorMessage', 'allowComments', 'allowTrailingCommas'];

let validatorPromise: Promise<ValidateFunction> | undefined;

export async function validateSchema(data: unknown): Promise<SchemaValidation> {
  validatorPromise ??= compileValidator();
  const validate = await validatorPromise;
  const problems = validate(data) ? [] : (validate.errors ?? []).flatMap((error) => toProblems(error, data));
  return {
    problems,
    validAt<T>(...path: readonly (string | number)[]): T | undefined {
      const key = formatKeyPath(path);
      const affected = problems.some(
        (p) => key === '' || p.path === key || p.path.startsWith(`${key}.`) || p.path.startsWith(`${key}[`),
      );
      return affected ? undefined : (valueAt(data, path) as T | undefined);
    },
    rawAt(...path: readonly (string | number)[]): unknown {
      return valueAt(data, path);
    },
  };
}

/** `['apps', 1, 'upstream']` → `apps[1].upstream`. */
export function formatKeyPath(path: readonly (string | number)[]): string {
  return path.reduce<string>((text, segment) => {
    if (typeof segment === 'number') return `${text}[${segment}]`;
    return text === '' ? segment : `${text}.${segment}`;
  }, '');
}

async function compileValidator(): Promise<ValidateFunction> {
  const schema: unknown = JSON.parse(await readFile(packageFilePath('schema/proxy.config.schema.json'), 'utf8'));
  const ajv = new Ajv({
    allErrors: true,
    verbose: true,
    strict: true,
    // `required` inside if/then names keys declared by the enclosing object, which this check does not see.
    strictRequired: false,
    allowUnionTypes: true,
    useDefaults: false,
    coerceTypes: false,
    removeAdditional: false,
  });
  formatsModule.default(ajv, ['uri']);
  ajv.addVocabulary(ANNOTATION_KEYWORDS);
  return ajv.compile(schema as AnySchemaObject);
}

function toProblems(error: ErrorObject, data: unknown): ConfigProblem[] {
  // `if` only says "the then/else branch failed"; that branch's own errors are the useful ones.
  if (error.keyword === 'if') return [];
  return [{ path: formatKeyPath(pointerToPath(error.instancePath, data)), message: describe(error) }];
}

function describe(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  const parent: AnySchemaObject = error.parentSchema ?? {};
  if (error.keyword === 'required') return `missing required key "${String(params.missingProperty)}"`;
  if (error.keyword === 'additionalProperties') {
    const key = String(params.additionalProperty);
    const known = Object.keys((parent.properties as Record<string, unknown> | undefined) ?? {});
    const suggestion = closestKey(key, known);
    return `unknown key "${key}"${suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`}`;
  }
  if (typeof parent.errorMessage === 'string') return parent.errorMessage;
  switch (error.keyword) {
    case 'type':
      return `must be ${String(params.type).split(',').map(typeName).join(' or ')}`;
    case 'enum':
      return `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'minimum':
      return `must be at least ${String(params.limit)}`;
    case 'maximum':
      return `must be at most ${String(params.limit)}`;
    case 'minLength':
      return params.limit === 1 ? 'must not be empty' : `must be at least ${String(params.limit)} characters long`;
    case 'maxLength':
      return `must be at most ${String(params.limit)} characters long`;
    case 'minItems':
      return params.limit === 1 ? 'must list at least one entry' : `must list at least ${String(params.limit)} entries`;
    case 'pattern':
      return typeof parent.patternErrorMessage === 'string'
        ? parent.patternErrorMessage
        : `must match the pattern ${String(params.pattern)}`;
    case 'format':
      return params.format === 'uri' ? 'not a URL' : `not a valid ${String(params.format)}`;
    default:
      return error.message ?? 'is not valid';
  }
}

function typeName(type: string): string {
  switch (type) {
    case 'integer':
      return 'a whole number';
    case 'boolean':
      return 'true or false';
    case 'object':
    case 'array':
      return `an ${type}`;
    default:
      return `a ${type}`;
  }
}

/** A known key within two edits of `key` (typos such as "upstreamm" or "baseURL"). */
function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/** JSON Pointer → path segments, with numbers where the data holds an array. */
function pointerToPath(pointer: string, data: unknown): (string | number)[] {
  const path: (string | number)[] = [];
  let current = data;
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    const step = Array.isArray(current) ? Number(segment) : segment;
    path.push(step);
    current = valueAt(current, [step]);
  }
  return path;
}

function valueAt(data: unknown, path: readonly (string | number)[]): unknown {
  let current = data;
  for (const segment of path) {
    if (typeof segment === 'number' ? !Array.isArray(current) : !isPlainObject(current)) return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
