/**
 * Pure helpers on a raw request `Cookie` header (RFC 6265 §4.2 shape: `a=1; b=2`), tolerant of what
 * browsers and scripts really send: pairs without `=`, quoted values, extra spaces or tabs, empty pairs.
 *
 * They scan the header instead of building a map, because they run on every proxied request.
 * A pair without `=` counts as a cookie with that name and an empty value (Tomcat reads it that way).
 */

const TAB = 0x09;
const SPACE = 0x20;
const DQUOTE = 0x22;
const EQUALS = 0x3d;

/**
 * The value of the FIRST cookie called exactly `name` whose value is not empty, the way the Atlassian
 * Java apps read the Crowd cookie (crowd.md §4.2). One pair of surrounding double quotes is removed.
 * `undefined` when there is none.
 */
export function findCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  let start = 0;
  while (start < header.length) {
    const semicolon = header.indexOf(';', start);
    const end = semicolon === -1 ? header.length : semicolon;
    const value = pairValue(header, start, end, name);
    if (value !== undefined) return value;
    start = end + 1;
  }
  return undefined;
}

/**
 * Every non-empty value of the cookies called exactly `name`, in header order (the first is what the
 * apps read), unquoted like `findCookie`. Lets a caller try each candidate when a stale cookie comes first.
 */
export function findCookieValues(header: string | undefined, name: string): string[] {
  const values: string[] = [];
  if (header === undefined) return values;
  let start = 0;
  while (start < header.length) {
    const semicolon = header.indexOf(';', start);
    const end = semicolon === -1 ? header.length : semicolon;
    const value = pairValue(header, start, end, name);
    if (value !== undefined) values.push(value);
    start = end + 1;
  }
  return values;
}

/**
 * Whether any pair of the header mentions `name`, in any case and anywhere in the pair (`a=1, crowd.token_key=x` is
 * one pair to a browser but two to a servlet container with a legacy cookie parser).
 */
export function mentionsCookie(header: string | undefined, name: string): boolean {
  return header !== undefined && mentionOf(name).test(header);
}

/**
 * The header with every pair that mentions `name` removed (see `mentionsCookie`: also empty, `=`-less, other-case and
 * comma-joined ones), so that no parser can find such a cookie in what is left. The other pairs are kept byte for
 * byte and in order, without surrounding whitespace, joined by `; `. Empty string when no cookie is left (the
 * forwarder then sends no `Cookie` header at all).
 */
export function removeCookie(header: string | undefined, name: string): string {
  if (header === undefined) return '';
  const mention = mentionOf(name);
  let kept = '';
  let start = 0;
  while (start < header.length) {
    const semicolon = header.indexOf(';', start);
    const end = semicolon === -1 ? header.length : semicolon;
    const from = skipWhitespace(header, start, end);
    const to = trimEnd(header, from, end);
    if (to > from) {
      const pair = header.slice(from, to);
      if (!mention.test(pair)) kept = kept === '' ? pair : `${kept}; ${pair}`;
    }
    start = end + 1;
  }
  return kept;
}

/**
 * Whether the header already says exactly `name=value` and nothing else about `name`: the one pair that mentions it
 * (see `mentionsCookie`) is that, unquoted. Then it can go upstream as it is; otherwise `rewriteCookieHeader`.
 */
export function isOnlyCookie(header: string | undefined, name: string, value: string): boolean {
  if (header === undefined) return false;
  const mention = mentionOf(name);
  let found = false;
  let start = 0;
  while (start < header.length) {
    const semicolon = header.indexOf(';', start);
    const end = semicolon === -1 ? header.length : semicolon;
    const from = skipWhitespace(header, start, end);
    const to = trimEnd(header, from, end);
    // Cheap first: a pair that is exactly `name=value`.
    const exact = to - from === name.length + 1 + value.length && header.startsWith(name, from) && header.charCodeAt(from + name.length) === EQUALS && header.startsWith(value, from + name.length + 1);
    if (exact) {
      if (found) return false;
      found = true;
    } else if (to > from && mention.test(header.slice(from, to))) {
      return false;
    }
    start = end + 1;
  }
  return found;
}

/**
 * The header with every pair that mentions `name` removed (as `removeCookie` does) and exactly one `name=value` put
 * FIRST, so that the upstream app reads `value` and nothing else.
 *
 * Throws a TypeError when `name` is not an RFC 6265 token or `value` holds anything but cookie-octets
 * (a `;`, space, quote or control character would inject or break cookies): callers pass a Crowd token,
 * which never contains such characters, so this is a programming error, not a request error.
 */
export function rewriteCookieHeader(header: string | undefined, name: string, value: string): string {
  assertCookiePair(name, value);
  const rest = removeCookie(header, name);
  return rest === '' ? `${name}=${value}` : `${name}=${value}; ${rest}`;
}

/** One case-insensitive pattern per cookie name (there is one Crowd cookie name, rarely two across a reload). */
const mentions = new Map<string, RegExp>();

function mentionOf(name: string): RegExp {
  let mention = mentions.get(name);
  if (mention === undefined) {
    if (mentions.size > 8) mentions.clear();
    mention = new RegExp(name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
    mentions.set(name, mention);
  }
  return mention;
}

/** The unquoted value of the pair in [start, end) when it is named `name` and that value is not empty. */
function pairValue(header: string, start: number, end: number, name: string): string | undefined {
  const valueStart = valueStartIfNamed(header, start, end, name);
  if (valueStart === -1) return undefined;
  let from = skipWhitespace(header, valueStart, end);
  let to = trimEnd(header, from, end);
  if (to - from >= 2 && header.charCodeAt(from) === DQUOTE && header.charCodeAt(to - 1) === DQUOTE) {
    from += 1;
    to -= 1;
  }
  return to > from ? header.slice(from, to) : undefined;
}

/**
 * When the pair in [start, end) is named exactly `name` (leading whitespace allowed), the index just after
 * its `=` (or `end` for a pair without `=`); otherwise -1.
 */
function valueStartIfNamed(header: string, start: number, end: number, name: string): number {
  const nameStart = skipWhitespace(header, start, end);
  if (name === '' || end - nameStart < name.length || !header.startsWith(name, nameStart)) return -1;
  const afterName = skipWhitespace(header, nameStart + name.length, end);
  if (afterName === end) return end;
  return header.charCodeAt(afterName) === EQUALS ? afterName + 1 : -1;
}

function skipWhitespace(header: string, from: number, end: number): number {
  let index = from;
  while (index < end && isWhitespace(header.charCodeAt(index))) index += 1;
  return index;
}

function trimEnd(header: string, from: number, end: number): number {
  let index = end;
  while (index > from && isWhitespace(header.charCodeAt(index - 1))) index -= 1;
  return index;
}

function isWhitespace(code: number): boolean {
  return code === SPACE || code === TAB;
}

function assertCookiePair(name: string, value: string): void {
  if (name === '' || !everyChar(name, isTokenChar)) {
    throw new TypeError(`Cookie name ${JSON.stringify(name)} is not a valid RFC 6265 token.`);
  }
  if (!everyChar(value, isCookieOctet)) {
    throw new TypeError(`The value for cookie "${name}" contains characters a cookie value may not hold (RFC 6265 cookie-octet).`);
  }
}

function everyChar(text: string, predicate: (code: number) => boolean): boolean {
  for (let index = 0; index < text.length; index += 1) {
    if (!predicate(text.charCodeAt(index))) return false;
  }
  return true;
}

/** RFC 9110 tchar. */
function isTokenChar(code: number): boolean {
  if ((code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a)) return true;
  return "!#$%&'*+-.^_`|~".includes(String.fromCharCode(code));
}

/** RFC 6265 cookie-octet: visible US-ASCII except DQUOTE, comma, semicolon and backslash. */
function isCookieOctet(code: number): boolean {
  return code >= 0x21 && code <= 0x7e && code !== DQUOTE && code !== 0x2c && code !== 0x3b && code !== 0x5c;
}
