/**
 * What starting logins may cost per client address. Starting one builds (and may sign) an AuthnRequest and seals a
 * RelayState, a few times the CPU of a forwarded request, so a flood of anonymous requests must not take the CPU:
 * each address (an IPv6 client by its /64) gets a bucket of `burst` login starts, refilled at `perMinute`. What it
 * refuses gets 429 with Retry-After; one warning per address a minute says so.
 */
import type { ServerResponse } from 'node:http';
import { LRUCache } from 'lru-cache';
import { TooManyLoginsError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { budgetKey } from '../policy/address-matcher.js';
import { sendPage } from './respond.js';

/** Client addresses with a bucket; the least recently seen go first (an attacker rotating addresses only gets fresh buckets). */
const MAX_CLIENTS = 100_000;
const WARN_EVERY_MS = 60_000;

export interface LoginStartBudgetOptions {
  readonly perMinute: number;
  readonly burst: number;
  readonly now?: () => number;
}

export interface LoginStartRefusal {
  readonly client: string;
  /** Seconds until the bucket holds a start again. */
  readonly retryAfterSeconds: number;
  /** True for at most one refusal per client a minute: the one worth a log line. */
  readonly warn: boolean;
}

interface Bucket {
  tokens: number;
  atMs: number;
  warnedAtMs: number;
}

export function createLoginStartBudget(options: LoginStartBudgetOptions) {
  const now = options.now ?? Date.now;
  const perMs = options.perMinute / 60_000;
  const buckets = new LRUCache<string, Bucket>({ max: MAX_CLIENTS });
  return {
    /** undefined: go ahead; else why not. */
    admit(clientIp: string): LoginStartRefusal | undefined {
      const client = budgetKey(clientIp);
      const nowMs = now();
      let bucket = buckets.get(client);
      if (bucket === undefined) {
        bucket = { tokens: options.burst, atMs: nowMs, warnedAtMs: -Infinity };
        buckets.set(client, bucket);
      } else {
        bucket.tokens = Math.min(options.burst, bucket.tokens + (nowMs - bucket.atMs) * perMs);
        bucket.atMs = nowMs;
      }
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return undefined;
      }
      const warn = nowMs - bucket.warnedAtMs >= WARN_EVERY_MS;
      if (warn) bucket.warnedAtMs = nowMs;
      return { client, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000)), warn };
    },
  };
}

export type LoginStartBudget = ReturnType<typeof createLoginStartBudget>;

/** The 429 for a refused login start (with Retry-After), and at most one warning per client a minute. */
export function refuseLoginStart(res: ServerResponse, refusal: LoginStartRefusal, fields: { readonly reqId: string; readonly host: string | undefined; readonly app: string }, logger: Logger): void {
  const error = new TooManyLoginsError(
    `client ${refusal.client} started more logins than saml.maxLoginStartsPerClientPerMinute allows; refused for ${refusal.retryAfterSeconds} s. A flood of anonymous requests, or many users behind one address: then raise the key (and list load balancers in trustedProxies)`,
    { detail: 'login_start_budget' },
  );
  if (refusal.warn) logger.warn({ ...fields, code: error.code, reason: error.reason, client: refusal.client }, error.message);
  sendPage(res, error.entry.page, { status: error.status, message: error.publicMessage, requestId: fields.reqId }, { 'retry-after': String(refusal.retryAfterSeconds) });
}
