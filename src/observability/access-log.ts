/**
 * The access log line, one per request: the busiest line by far, so it is written by hand instead of through pino's
 * generic path (which looks up a serializer and a stringifier for every field of every line). The line is exactly
 * what `logger.info(fields, 'request completed')` would write — level, time, the logger's bindings, the fields in
 * order, msg — to the logger's own destination, so the pretty format and the level apply as to every other line.
 * Fields that are undefined are left out, as pino does.
 */
import { pino } from 'pino';
import type { Logger } from './logger.js';

export interface AccessLine {
  readonly reqId: string;
  readonly host: string | undefined;
  readonly app: string | undefined;
  readonly decision: string;
  readonly status: number;
  /** Whole microseconds; the line says `durationMs` (milliseconds with up to three decimals). */
  readonly durationUs: number;
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly clientIp: string;
  readonly user: string | undefined;
}

export const ACCESS_LOG_MESSAGE = 'request completed';

const INFO = 30;
const MESSAGE = `,"msg":${JSON.stringify(ACCESS_LOG_MESSAGE)}}\n`;

interface PinoInternals {
  readonly [pino.symbols.chindingsSym]: string;
  readonly [pino.symbols.streamSym]: { write(line: string): void };
}

/** Writes access lines for `logger` (at info: the caller checks `logger.isLevelEnabled('info')`). */
export function createAccessLogWriter(logger: Logger): (line: AccessLine) => void {
  const internals = logger as unknown as PinoInternals;
  // Several lines share a millisecond under load: the start of the line is made once per millisecond.
  let startMs = -1;
  let startBindings = '';
  let start = '';
  return (line) => {
    const nowMs = Date.now();
    const bindings = internals[pino.symbols.chindingsSym];
    if (nowMs !== startMs || bindings !== startBindings) {
      startMs = nowMs;
      startBindings = bindings;
      start = `{"level":${INFO},"time":${nowMs}${bindings},"reqId":`;
    }
    let text = start + jsonString(line.reqId);
    if (line.host !== undefined) text += `,"host":${jsonString(line.host)}`;
    if (line.app !== undefined) text += `,"app":${jsonString(line.app)}`;
    text += `,"decision":${jsonString(line.decision)},"status":${line.status},"durationMs":${millisecondsText(line.durationUs)}`;
    if (line.method !== undefined) text += `,"method":${jsonString(line.method)}`;
    if (line.path !== undefined) text += `,"path":${jsonString(line.path)}`;
    text += `,"clientIp":${jsonString(line.clientIp)}`;
    if (line.user !== undefined) text += `,"user":${jsonString(line.user)}`;
    internals[pino.symbols.streamSym].write(text + MESSAGE);
  };
}

/**
 * `String(micros / 1000)` for a whole number of microseconds ≥ 0 (the same text: the shortest decimal of a double
 * with three decimals is those decimals, trailing zeros dropped), from integers instead of a double's formatting.
 */
export function millisecondsText(micros: number): string {
  const whole = Math.floor(micros / 1000);
  const fraction = micros - whole * 1000;
  if (fraction === 0) return `${whole}`;
  if (fraction % 100 === 0) return `${whole}.${fraction / 100}`;
  if (fraction % 10 === 0) return `${whole}.${fraction < 100 ? '0' : ''}${fraction / 10}`;
  return `${whole}.${fraction < 10 ? '00' : fraction < 100 ? '0' : ''}${fraction}`;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const FIRST_PRINTABLE = 0x20;
const FIRST_SURROGATE = 0xd800;
const LAST_SURROGATE = 0xdfff;

/**
 * `JSON.stringify(text)`, taking a shortcut for the usual field (no quote, backslash, control character or
 * surrogate, so nothing to escape): a scan is about half the cost of the call, and the line has eight such fields.
 */
function jsonString(text: string): string {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < FIRST_PRINTABLE || code === QUOTE || code === BACKSLASH || (code >= FIRST_SURROGATE && code <= LAST_SURROGATE)) return JSON.stringify(text);
  }
  return `"${text}"`;
}
