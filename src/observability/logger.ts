import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggerOptions {
  readonly level: LevelWithSilent;
  /** Where JSON lines go; default stdout. */
  readonly destination?: NodeJS.WritableStream;
}

/**
 * Structured JSON logs. Secrets never reach a line: the fields that could carry them are redacted
 * wherever they appear (cookies, Authorization, SAML messages, tokens, passwords).
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
    options.destination ?? process.stdout,
  );
}
