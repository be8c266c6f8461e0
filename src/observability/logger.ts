import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { isColorSupported, prettyFactory } from 'pino-pretty';
import { batchedStdout } from './batched-stdout.js';

export type { Logger };

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  readonly level: LevelWithSilent;
  /** `json` (default): one JSON object per line. `pretty`: one readable line per entry, for a terminal. */
  readonly format?: LogFormat;
  /** Where lines go; default stdout (JSON: batched, see batched-stdout.ts). */
  readonly destination?: NodeJS.WritableStream;
}

/**
 * Structured JSON logs. Secrets never reach a line: the fields that could carry them are redacted
 * wherever they appear (cookies, Authorization, SAML messages, tokens, passwords). Redaction happens
 * before formatting, so the pretty format shows exactly what the JSON format would.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { name: 'crowd-sso-proxy' },
      redact: {
        paths: [
          'token',
          'password',
          'samlResponse',
          'relayState',
          '*.token',
          '*.password',
          '*.applicationPassword',
          '*.stateSecret',
          'req.headers.cookie',
          'req.headers.authorization',
          'headers.cookie',
          'headers.authorization',
        ],
        censor: '[redacted]',
      },
    },
    options.format === 'pretty' ? prettyDestination(options.destination ?? process.stdout) : (options.destination ?? batchedStdout()),
  );
}

/** Each JSON line rewritten as one readable line, synchronously (nothing is lost when the process exits). */
function prettyDestination(out: NodeJS.WritableStream): DestinationStream {
  const prettify = prettyFactory({
    colorize: isColorSupported && out === process.stdout,
    singleLine: true,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'pid,hostname,name',
  });
  return {
    write(line: string): void {
      out.write(prettify(line));
    },
  };
}
