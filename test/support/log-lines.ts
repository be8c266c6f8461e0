/** Waiting for JSON log lines that are written after the response (access lines are written when it closes). */
import { setTimeout as sleep } from 'node:timers/promises';

export type LogLine = Record<string, unknown>;

const POLL_MS = 10;
const GIVE_UP_MS = 5_000;

/** The first line of `logs` that matches, waiting for it to be written; throws naming `what` when none comes. */
export async function waitForLogLine(logs: readonly LogLine[], predicate: (line: LogLine) => boolean, what: string): Promise<LogLine> {
  for (let waitedMs = 0; waitedMs <= GIVE_UP_MS; waitedMs += POLL_MS) {
    const line = logs.find(predicate);
    if (line !== undefined) return line;
    await sleep(POLL_MS);
  }
  throw new Error(`no log line: ${what}`);
}

/** The access line of the request with this id. */
export function accessLine(logs: readonly LogLine[], reqId: unknown): Promise<LogLine> {
  return waitForLogLine(logs, (line) => line.msg === 'request completed' && line.reqId === reqId, `access line of request ${String(reqId)}`);
}
