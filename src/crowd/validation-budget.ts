/**
 * What a validation of a token the proxy has not seen valid recently may cost Crowd. Such tokens are what a flood of
 * made-up cookies consists of, and Crowd serves every Atlassian application of the company, so:
 * - per client address: at most `maxInFlightPerClient` of these calls at once and `perClientPerSecond` on average
 *   (a bucket of that many, refilled continuously); an IPv6 client counts by its /64 network;
 * - all clients together: at most `maxInFlight` at once, so that the rest of the Crowd client's connections always
 *   stay free for tokens that were valid a moment ago and for logins; up to `maxWaiting` more wait their turn, for at
 *   most `maxWaitMs`.
 * What the budget refuses is never queued behind everyone: the caller answers it like an invalid token.
 */
import { LRUCache } from 'lru-cache';
import { CROWD_CONNECTIONS } from './crowd-connection.js';

/** Crowd connections that tokens not valid recently may use at once: half; the rest stays for everyone else. */
export const UNKNOWN_TOKEN_CONNECTIONS = CROWD_CONNECTIONS / 2;
/** How many more of those may wait for one of their connections. */
export const UNKNOWN_TOKEN_WAITING = 8 * UNKNOWN_TOKEN_CONNECTIONS;

/** Which bound refused a validation (the metric's `limit` label). */
export const REFUSAL_LIMITS = ['client_in_flight', 'client_rate', 'all_clients'] as const;
export type RefusalLimit = (typeof REFUSAL_LIMITS)[number];

export interface ValidationRefusal {
  /** The client address, or its /64 network for IPv6 (`2001:db8:1:2::/64`). */
  readonly client: string;
  readonly limit: RefusalLimit;
  /** True for at most one refusal per client per minute (and a few per minute in all): the one worth a log line. */
  readonly warn: boolean;
  /** With `warn`: the refusals of this client since its previous warning (not logged); else the count so far. */
  readonly refusedSinceWarn: number;
}

export interface ValidationBudgetOptions {
  readonly maxInFlightPerClient: number;
  readonly perClientPerSecond: number;
  /** These validations at once, all clients together. */
  readonly maxInFlight: number;
  /** How many more may wait for one of those; beyond, they are refused at once. */
  readonly maxWaiting: number;
  /** A validation that waited this long for its turn is refused instead. */
  readonly maxWaitMs: number;
  /** The client a budget belongs to, from its address (policy/address-matcher.ts's budgetKey: an IPv6 address by its /64). */
  readonly clientKey: (clientIp: string) => string;
  readonly now?: () => number;
  /** Told about every refusal. */
  readonly onRefused?: (refusal: ValidationRefusal) => void;
}

/** Gives the slot back; call exactly once, when the Crowd call has ended. */
export type ReleaseSlot = () => void;

export interface ValidationBudget {
  /**
   * A slot for one Crowd call from `clientIp`, or undefined when refused: at once when that is decided at once, else a
   * promise of it (waiting for a turn).
   */
  admit(clientIp: string): ReleaseSlot | undefined | Promise<ReleaseSlot | undefined>;
  /** Clients with validations in flight or a bucket not yet full again (bounded). */
  trackedClients(): number;
}

interface ClientState {
  inFlight: number;
  /** Calls the client may still start now (fractional while refilling). */
  allowance: number;
  refilledAtMs: number;
}

interface Waiter {
  readonly client: ClientState;
  readonly key: string;
  readonly sinceMs: number;
  readonly resolve: (release: ReleaseSlot | undefined) => void;
}

interface WarnState {
  warnedAtMs: number;
  suppressed: number;
}

/** Beyond this many clients with a budget in use, new clients are refused until the others are idle. */
const MAX_TRACKED_CLIENTS = 10_000;
const PRUNE_INTERVAL_MS = 1_000;
const WARN_INTERVAL_MS = 60_000;
/** Warnings about different clients in one minute, all together (a flood from many addresses is one story). */
const MAX_WARNINGS_PER_INTERVAL = 20;
const MAX_WARNED_CLIENTS = 1_000;

export function createValidationBudget(options: ValidationBudgetOptions): ValidationBudget {
  const { maxInFlightPerClient, perClientPerSecond, maxInFlight, maxWaiting, maxWaitMs, clientKey, onRefused } = options;
  const now = options.now ?? Date.now;
  const clients = new Map<string, ClientState>();
  const waiting: Waiter[] = [];
  let inFlight = 0;
  let prunedAtMs = Number.NEGATIVE_INFINITY;
  const warned = new LRUCache<string, WarnState>({ max: MAX_WARNED_CLIENTS });
  let warningsStartMs = Number.NEGATIVE_INFINITY;
  let warnings = 0;

  const refill = (client: ClientState, nowMs: number): void => {
    const elapsedMs = nowMs - client.refilledAtMs;
    if (elapsedMs <= 0) return;
    client.allowance = Math.min(perClientPerSecond, client.allowance + (elapsedMs * perClientPerSecond) / 1000);
    client.refilledAtMs = nowMs;
  };

  /** Forgets clients with nothing in flight and a full bucket: they start afresh exactly as if remembered. */
  const prune = (nowMs: number): void => {
    if (nowMs - prunedAtMs < PRUNE_INTERVAL_MS) return;
    prunedAtMs = nowMs;
    for (const [key, client] of clients) {
      refill(client, nowMs);
      if (client.inFlight === 0 && client.allowance >= perClientPerSecond) clients.delete(key);
    }
  };

  const refuse = (key: string, limit: RefusalLimit, nowMs: number): undefined => {
    if (onRefused === undefined) return undefined;
    let state = warned.get(key);
    if (state === undefined) {
      state = { warnedAtMs: Number.NEGATIVE_INFINITY, suppressed: 0 };
      warned.set(key, state);
    }
    let warn = nowMs - state.warnedAtMs >= WARN_INTERVAL_MS;
    if (warn) {
      if (nowMs - warningsStartMs >= WARN_INTERVAL_MS) {
        warningsStartMs = nowMs;
        warnings = 0;
      }
      warn = warnings < MAX_WARNINGS_PER_INTERVAL;
    }
    if (!warn) {
      state.suppressed += 1;
      onRefused({ client: key, limit, warn, refusedSinceWarn: state.suppressed });
      return undefined;
    }
    warnings += 1;
    const refusedSinceWarn = state.suppressed;
    state.warnedAtMs = nowMs;
    state.suppressed = 0;
    onRefused({ client: key, limit, warn, refusedSinceWarn });
    return undefined;
  };

  const slotFor = (client: ClientState): ReleaseSlot => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      client.inFlight -= 1;
      handOver();
    };
  };

  /** A slot became free: to the next waiter still within `maxWaitMs`; the ones that waited too long are refused. */
  const handOver = (): void => {
    inFlight -= 1;
    const nowMs = now();
    for (let next = waiting.shift(); next !== undefined; next = waiting.shift()) {
      if (nowMs - next.sinceMs >= maxWaitMs) {
        next.client.inFlight -= 1;
        next.resolve(refuse(next.key, 'all_clients', nowMs));
        continue;
      }
      inFlight += 1;
      next.resolve(slotFor(next.client));
      return;
    }
  };

  return {
    admit(clientIp) {
      const nowMs = now();
      const key = clientKey(clientIp);
      let client = clients.get(key);
      if (client === undefined) {
        if (clients.size >= MAX_TRACKED_CLIENTS) prune(nowMs);
        if (clients.size >= MAX_TRACKED_CLIENTS) return refuse(key, 'all_clients', nowMs);
        client = { inFlight: 0, allowance: perClientPerSecond, refilledAtMs: nowMs };
        clients.set(key, client);
      } else {
        refill(client, nowMs);
      }
      if (client.inFlight >= maxInFlightPerClient) return refuse(key, 'client_in_flight', nowMs);
      if (client.allowance < 1) return refuse(key, 'client_rate', nowMs);
      if (inFlight >= maxInFlight && waiting.length >= maxWaiting) return refuse(key, 'all_clients', nowMs);
      client.allowance -= 1;
      client.inFlight += 1;
      if (inFlight < maxInFlight) {
        inFlight += 1;
        return slotFor(client);
      }
      const admitted = client;
      return new Promise((resolve) => waiting.push({ client: admitted, key, sinceMs: nowMs, resolve }));
    },
    trackedClients: () => clients.size,
  };
}
