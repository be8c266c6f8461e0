/**
 * What the edge-proxy configuration generators (nginx-config, caddy-config, traefik-config) share: refusing values the
 * tool's syntax would read as syntax, naming the config key; the product's paths that the edge proxy hands to it
 * directly; the headers of the forward-auth answer; a writer for block-structured files.
 */
import type { AppConfig } from '../config/runtime-config.js';
import { ConfigError } from '../errors.js';

/** Headers of the forward-auth answer: a client sending them gets them removed before the proxy is asked. */
export const SSO_ANSWER_HEADERS: readonly string[] = Object.freeze(['x-sso-user', 'x-sso-cookie', 'x-sso-login']);

/** `x-forwarded-for` → `X-Forwarded-For`, for a readable file (the tools compare header names ignoring case). */
export function headerName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => `${dash}${letter.toUpperCase()}`);
}

export function configProblem(path: string, message: string): ConfigError {
  return new ConfigError([{ path, message }]);
}

/** One tool's file syntax, for the refusals. */
export interface EdgeSyntax {
  /** "an nginx configuration", "a Caddyfile", … */
  readonly fileName: string;
  /** The tool's name in messages: "nginx". */
  readonly tool: string;
  /** Printable characters the syntax reads as syntax (besides whitespace and control characters, always refused). */
  readonly forbidden: string;
}

/** Refuses a value the file would read as more than one plain token: whitespace, control characters, non-ASCII, `forbidden`. */
export function checkToken(syntax: EdgeSyntax, value: string, what: string): string {
  if (value === '') throw configProblem(what, 'is empty');
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (code <= 0x20 || code >= 0x7f || syntax.forbidden.includes(char)) {
      const shown = code <= 0x20 || code >= 0x7f ? `U+${code.toString(16).toUpperCase().padStart(4, '0')}` : `"${char}"`;
      throw configProblem(what, `"${value}" cannot be written into ${syntax.fileName}: it contains ${shown}`);
    }
  }
  return value;
}

/** A path the tool matches exactly: a token, starting with `/`, and decoded (the tools match the decoded path). */
export function checkMatchPath(syntax: EdgeSyntax, path: string, what: string): string {
  checkToken(syntax, path, what);
  if (!path.startsWith('/')) throw configProblem(what, `"${path}" must start with "/"`);
  if (path.includes('%')) throw configProblem(what, `"${path}": ${syntax.tool} matches paths decoded, so a percent-encoded path would never match; write it decoded`);
  return path;
}

/** An upstream URL taken apart, each part checked. */
export interface UpstreamParts {
  /** `http` or `https`. */
  readonly scheme: string;
  /** Without IPv6 brackets' removal: as it goes into `host:port`. */
  readonly hostname: string;
  /** The port, the scheme's default when the URL has none. */
  readonly port: string;
  /** Path prefix without trailing slash ('' for none). */
  readonly prefix: string;
}

export function upstreamParts(syntax: EdgeSyntax, url: URL, what: string, allowPath: boolean): UpstreamParts {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw configProblem(what, `"${url.href}" must be an http:// or https:// URL`);
  if (url.username !== '' || url.password !== '') throw configProblem(what, `"${url.origin}": credentials in the URL cannot be used by ${syntax.tool}`);
  if (url.search !== '' || url.hash !== '') throw configProblem(what, `"${url.href}" must not have a query or fragment`);
  const prefix = url.pathname.replace(/\/+$/, '');
  if (!allowPath && prefix !== '') throw configProblem(what, `"${url.href}" must not have a path (scheme, host and port only)`);
  if (prefix.includes('%')) throw configProblem(what, `"${url.href}": a percent-encoded path prefix is not supported`);
  const scheme = url.protocol.slice(0, -1);
  checkToken(syntax, url.hostname, what);
  if (prefix !== '') checkToken(syntax, prefix, what);
  return { scheme, hostname: url.hostname, port: url.port !== '' ? url.port : scheme === 'https' ? '443' : '80', prefix };
}

/** `jira.example.com:8443` → `jira.example.com` (the tools match the host without its port). */
export function hostName(host: string): string {
  return host.replace(/:\d+$/, '').toLowerCase();
}

/**
 * The app's paths the edge proxy hands to the product as an ordinary reverse proxy (it rewrites or refuses their
 * answers, which a forward-auth answer cannot do): logout, login and login-form paths, emergency access. Paths
 * below the prefix go there anyway. Each is checked with `check` (the tool's path rules).
 */
export function productPaths(app: AppConfig, where: string, prefix: string, check: (path: string, what: string) => void): string[] {
  const paths: string[] = [];
  const add = (list: readonly string[], key: string): void => {
    list.forEach((path, i) => {
      check(path, `${where}.${key}[${i}]`);
      if (path === prefix || path.startsWith(`${prefix}/`)) return;
      if (!paths.includes(path)) paths.push(path);
    });
  };
  add(app.logoutPaths, 'logoutPaths');
  add(app.loginPaths, 'loginPaths');
  add(app.loginFormPaths, 'loginFormPaths');
  if (app.emergencyAccess !== undefined) {
    add([app.emergencyAccess.path], 'emergencyAccess.path');
    add(app.emergencyAccess.loginFormPaths, 'emergencyAccess.loginFormPaths');
  }
  return paths;
}

/** Lines of a block-structured file (`head {` … `}`), indented by `indent` per level. */
export class BlockWriter {
  readonly #lines: string[] = [];
  readonly #indent: string;
  #depth = 0;

  constructor(indent: string) {
    this.#indent = indent;
  }

  line(text = ''): this {
    this.#lines.push(text === '' ? '' : `${this.#indent.repeat(this.#depth)}${text}`);
    return this;
  }

  comment(...texts: string[]): this {
    for (const text of texts) this.line(`# ${text}`);
    return this;
  }

  block(head: string, body: () => void): this {
    this.line(`${head} {`);
    this.#depth += 1;
    body();
    this.#depth -= 1;
    return this.line('}');
  }

  text(): string {
    return `${this.#lines.join('\n')}\n`;
  }
}
