import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { compileConfig } from './compile-config.js';
import type { RuntimeConfig } from './runtime-config.js';
import { fileErrorReason } from './resolve-secrets.js';
import { validateConfig } from './validate-config.js';

export interface LoadConfigOptions {
  /** Where `${VAR}` in secrets is looked up (default: process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Overrides the file's `logLevel` (the `--log-level` flag); checked like the file's value. */
  readonly logLevel?: string;
  /** Overrides the file's `logFormat` (the `--log-format` flag); checked like the file's value. */
  readonly logFormat?: string;
}

/**
 * Reads the configuration file (JSON with comments), validates it, resolves secrets and compiles it.
 * Throws one ConfigError listing every problem found.
 */
export async function loadConfig(filePath: string, options: LoadConfigOptions = {}): Promise<RuntimeConfig> {
  const absolutePath = resolve(filePath);
  let text: string;
  try {
    text = await readFile(absolutePath, 'utf8');
  } catch (error) {
    throw new ConfigError([{ path: '', message: `cannot read "${absolutePath}": ${fileErrorReason(error)}` }], { cause: error });
  }
  const data = parseJsonc(text.replace(/^\uFEFF/, ''));
  const overridden = isRecord(data) ? withOverrides(data, { logLevel: options.logLevel, logFormat: options.logFormat }) : data;
  const validated = await validateConfig(overridden, { env: options.env ?? process.env, configDir: dirname(absolutePath) });
  return compileConfig(validated);
}

export function isConfigError(value: unknown): value is ConfigError {
  return value instanceof ConfigError;
}

const SYNTAX_MESSAGES: Readonly<Record<string, string>> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'not a valid number',
  PropertyNameExpected: 'expected a key in double quotes',
  ValueExpected: 'expected a value',
  ColonExpected: 'expected ":" after the key',
  CommaExpected: 'expected "," between entries',
  CloseBraceExpected: 'expected "}"',
  CloseBracketExpected: 'expected "]"',
  EndOfFileExpected: 'unexpected text after the end of the configuration',
  InvalidCommentToken: 'not a valid comment',
  UnexpectedEndOfComment: 'the comment is not closed with "*/"',
  UnexpectedEndOfString: 'the string is not closed with \'"\'',
  UnexpectedEndOfNumber: 'the number is cut off',
  InvalidUnicode: 'not a valid \\u escape',
  InvalidEscapeCharacter: 'not a valid escape after "\\"',
  InvalidCharacter: 'control characters must be escaped in strings',
};

/** JSON with `//` and `/* *\/` comments and trailing commas; a syntax error and duplicate keys are problems. */
function parseJsonc(text: string): unknown {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { disallowComments: false, allowTrailingComma: true, allowEmptyContent: false });
  // Only the first syntax error: what the parser reports after it is mostly the echo of the first.
  const [first] = errors;
  if (first !== undefined || root === undefined) {
    const code = first === undefined ? 'ValueExpected' : printParseErrorCode(first.error);
    const message = `syntax error at ${position(text, first?.offset ?? 0)}: ${SYNTAX_MESSAGES[code] ?? code}`;
    throw new ConfigError([{ path: '', message }]);
  }
  const problems: ConfigProblem[] = [];
  const value = toValue(root, '', text, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return value;
}

/**
 * The value of a parse-tree node. Objects are built with Object.fromEntries, so a `__proto__` key stays
 * an ordinary (and, for the schema, unknown) key. A key written twice is a problem: the last one would
 * silently win.
 */
function toValue(node: Node, path: string, text: string, problems: ConfigProblem[]): unknown {
  const children = node.children ?? [];
  if (node.type === 'array') return children.map((child, i) => toValue(child, `${path}[${i}]`, text, problems));
  if (node.type !== 'object') return node.value as unknown;
  const firstSeen = new Map<string, number>();
  const entries: [string, unknown][] = [];
  for (const property of children) {
    const [keyNode, valueNode] = property.children ?? [];
    if (keyNode === undefined || valueNode === undefined) continue;
    const key = String(keyNode.value);
    const keyPath = path === '' ? key : `${path}.${key}`;
    const earlier = firstSeen.get(key);
    if (earlier !== undefined) {
      problems.push({ path: keyPath, message: `written twice (${position(text, earlier)} and ${position(text, keyNode.offset)}); keep one` });
      continue;
    }
    firstSeen.set(key, keyNode.offset);
    entries.push([key, toValue(valueNode, keyPath, text, problems)]);
  }
  return Object.fromEntries(entries);
}

function position(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

/** `data` with each flag that was given in place of the file's key. */
function withOverrides(data: Record<string, unknown>, flags: Readonly<Record<string, string | undefined>>): Record<string, unknown> {
  const given = Object.entries(flags).filter(([, value]) => value !== undefined);
  return given.length === 0 ? data : { ...data, ...Object.fromEntries(given) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
