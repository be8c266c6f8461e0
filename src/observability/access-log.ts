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
  readonly durationMs: number;
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
  const prefix = `{"level":${INFO},"time":`;
  return (line) => {
    let text = `${prefix}${Date.now()}${internals[pino.symbols.chindingsSym]},"reqId":${JSON.stringify(line.reqId)}`;
    if (line.host !== undefined) text += `,"host":${JSON.stringify(line.host)}`;
    if (line.app !== undefined) text += `,"app":${JSON.stringify(line.app)}`;
    text += `,"decision":${JSON.stringify(line.decision)},"status":${line.status},"durationMs":${line.durationMs}`;
    if (line.method !== undefined) text += `,"method":${JSON.stringify(line.method)}`;
    if (line.path !== undefined) text += `,"path":${JSON.stringify(line.path)}`;
    text += `,"clientIp":${JSON.stringify(line.clientIp)}`;
    if (line.user !== undefined) text += `,"user":${JSON.stringify(line.user)}`;
    internals[pino.symbols.streamSym].write(text + MESSAGE);
  };
}
