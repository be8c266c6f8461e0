/**
 * Prometheus metrics (prom-client) on one registry per process. The registry outlives configuration reloads: the
 * process-wide counters live here, and each Runtime binds its apps, token cache and certificates with `bind`.
 *
 * Names follow `crowd_sso_proxy_<noun>_<unit|total>`; every label takes its values from a fixed set (app names from
 * the configuration, Crowd endpoint labels from the client's code, reasons from the error catalog). What the request
 * path counts is bound when a runtime is bound, so counting a request is a lookup and an add.
 *
 * With `workers` (node:cluster) each worker keeps its own registry and the primary serves their sum
 * (`createClusterMetrics`); gauges that every worker reports alike (certificate expiry) take the minimum instead.
 */
import cluster from 'node:cluster';
import { X509Certificate } from 'node:crypto';
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ERROR_CATALOG } from '../errors.js';

/** What the proxy did with a request (the access log's `decision`, the `decision` label). */
export const ACCESS_DECISIONS = ['forward', 'forward-anonymous', 'login', 'deny-401', 'deny-403', 'internal', 'error'] as const;
export type AccessDecision = (typeof ACCESS_DECISIONS)[number];

/** One finished Crowd REST call, as the Crowd client reports it. */
export interface CrowdCallObservation {
  /** The call as the client names it, without tokens: `POST /session/{token}`. */
  readonly endpoint: string;
  readonly durationMs: number;
  /** `ok`, or one of CROWD_ERROR_KINDS. */
  readonly outcome: string;
}

export interface SigningCertificate {
  readonly fingerprintSha256: string;
  readonly notAfter: Date;
}

/** What one Runtime shows through the registry; read when Prometheus scrapes. */
export interface MetricsSources {
  readonly apps: readonly string[];
  readonly tokenCacheEntries: () => number;
  /** The IdP signing certificates in use; undefined while the IdP metadata is not loaded. */
  readonly idpSigningCerts: () => readonly SigningCertificate[] | undefined;
  /** PEM of `saml.spCertificateFile`, when configured. */
  readonly spCertificate: string | undefined;
}

/** The per-runtime side: children for this configuration's apps, created once. */
export interface RequestMetrics {
  /** One finished request (or WebSocket upgrade) of `app` (undefined = no app matched the host). */
  request(app: string | undefined, decision: AccessDecision, status: number): void;
  /** Seconds from handing a request to the app's upstream until its response to the client ended. */
  upstreamResponse(app: string, seconds: number): void;
  loginSucceeded(): void;
  /** A failed ACS post; `reason` is the error catalog's reason. SAML reasons also count as SAML failures. */
  loginFailed(reason: string): void;
}

/** What the admin listener serves. */
export interface MetricsExposition {
  readonly contentType: string;
  /** The text exposition of every metric. */
  render(): Promise<string>;
}

export interface Metrics extends MetricsExposition {
  bind(sources: MetricsSources): RequestMetrics;
  crowdCall(observation: CrowdCallObservation): void;
  /** A token validation answered from the cache (`hit`, also when it joined a Crowd call in flight) or by Crowd. */
  tokenCacheLookup(hit: boolean): void;
  /** A token not valid recently was not put to Crowd: `limit` (one of VALIDATION_REFUSAL_LIMITS) was reached. */
  crowdValidationRefused(limit: string): void;
  /** Loading or refreshing the IdP metadata failed (the last good metadata stays in use). */
  idpMetadataRefreshFailed(): void;
  /** A new connection was refused because listen.maxConnections were open. */
  connectionRefused(): void;
  /** An app refused a session Crowd holds valid (sent the user to its login page, or answered 401). */
  appRefusedSession(app: string): void;
}

export interface MetricsOptions {
  readonly now?: () => number;
  /** Node.js process metrics (CPU, memory, event loop, GC); default true. */
  readonly processMetrics?: boolean;
}

const PREFIX = 'crowd_sso_proxy_';
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
/** The app label of requests for a host that no app serves (app names cannot start with "_"). */
export const NO_APP = '_none';
/** Reasons of the error catalog that mean the SAML message or its login state was refused. */
export const SAML_FAILURE_REASONS: readonly string[] = ['saml_malformed', 'saml_signature', 'saml_conditions', 'saml_replay', 'idp_status', 'relay_state_invalid'];
const LOGIN_FAILURE_REASONS: ReadonlySet<string> = new Set(Object.values(ERROR_CATALOG).map((entry) => entry.reason));
const CROWD_ERROR_KINDS: readonly string[] = ['rejected', 'server_error', 'invalid_response', 'timeout', 'unreachable'];
/** The bounds of crowd.maxValidationsInFlightPerClient, crowd.maxValidationsPerClientPerSecond, and all clients together. */
export const VALIDATION_REFUSAL_LIMITS: readonly string[] = ['client_in_flight', 'client_rate', 'all_clients'];
const DAY_MS = 86_400_000;

const UPSTREAM_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const CROWD_BUCKETS_SECONDS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface AppChildren {
  /**
   * Requests counted since the last scrape; index: decision * STATUS_CLASSES.length + status class. Added to the
   * prom-client counter when it is collected: counting a request is then one array add, not a labelled `inc()`
   * (which hashes its labels every time).
   */
  readonly pendingRequests: Float64Array;
  readonly upstream: Histogram.Internal<'app'>;
}

interface CrowdChildren {
  readonly duration: Histogram.Internal<'endpoint'>;
  readonly errors: ReadonlyMap<string, Counter.Internal>;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const now = options.now ?? Date.now;
  const registry = new Registry();
  const registers = [registry];
  let sources: MetricsSources | undefined;
  let spNotAfterMs: number | undefined;

  const appChildren = new Map<string, AppChildren>();
  new Counter({
    name: `${PREFIX}requests_total`,
    help: 'Requests and WebSocket upgrades answered, by app (_none: unknown host), decision and status class',
    labelNames: ['app', 'decision', 'status_class'],
    registers,
    collect() {
      for (const [app, children] of appChildren) {
        const pending = children.pendingRequests;
        for (let index = 0; index < pending.length; index++) {
          const count = pending[index] as number;
          if (count === 0) continue;
          pending[index] = 0;
          const decision = ACCESS_DECISIONS[Math.floor(index / STATUS_CLASSES.length)] as string;
          this.labels(app, decision, STATUS_CLASSES[index % STATUS_CLASSES.length] as string).inc(count);
        }
      }
    },
  });
  const upstreamDuration = new Histogram({
    name: `${PREFIX}upstream_duration_seconds`,
    help: 'Time from forwarding a request to the app until the response to the client ended, by app',
    labelNames: ['app'],
    buckets: UPSTREAM_BUCKETS_SECONDS,
    registers,
  });
  const crowdDuration = new Histogram({
    name: `${PREFIX}crowd_request_duration_seconds`,
    help: 'Duration of Crowd REST calls, by endpoint',
    labelNames: ['endpoint'],
    buckets: CROWD_BUCKETS_SECONDS,
    registers,
  });
  const crowdErrors = new Counter({
    name: `${PREFIX}crowd_errors_total`,
    help: 'Failed Crowd REST calls, by endpoint and kind (rejected: Crowd refused the application credentials or address; server_error: HTTP 5xx; invalid_response; timeout; unreachable)',
    labelNames: ['endpoint', 'kind'],
    registers,
  });
  const tokenCacheHits = new Counter({
    name: `${PREFIX}token_cache_hits_total`,
    help: 'Crowd token validations answered without a new Crowd call (cached, or joined a call in flight)',
    registers,
  });
  const tokenCacheMisses = new Counter({
    name: `${PREFIX}token_cache_misses_total`,
    help: 'Crowd token validations that called Crowd (POST /session/{token})',
    registers,
  });
  const validationsRefused = new Counter({
    name: `${PREFIX}crowd_validations_refused_total`,
    help: 'Tokens not valid recently that were answered as invalid without asking Crowd, by the limit reached (client_in_flight: crowd.maxValidationsInFlightPerClient; client_rate: crowd.maxValidationsPerClientPerSecond; all_clients: the share of Crowd connections such tokens may use)',
    labelNames: ['limit'],
    registers,
  });
  const appSessionRefusals = new Counter({
    name: `${PREFIX}app_session_refusals_total`,
    help: 'Forwards whose app sent a user with a session Crowd holds valid to its login page (or answered 401), by app: validation factors or the app\'s Crowd application permissions differ from the proxy\'s',
    labelNames: ['app'],
    registers,
  });
  const connectionsRefused = new Counter({
    name: `${PREFIX}connections_refused_total`,
    help: 'New connections closed at once because listen.maxConnections connections were open',
    registers,
  });
  new Gauge({
    name: `${PREFIX}token_cache_entries`,
    help: 'Tokens with answers in the Crowd token cache (valid and invalid answers, each bounded by crowd.cacheMaxEntries)',
    registers,
    collect() {
      this.set(sources?.tokenCacheEntries() ?? 0);
    },
  });
  const logins = new Counter({
    name: `${PREFIX}logins_total`,
    help: 'SAML logins at the ACS, by outcome (success, failure) and reason (signed_in, or the reason of the error catalog)',
    labelNames: ['outcome', 'reason'],
    registers,
  });
  const samlFailures = new Counter({
    name: `${PREFIX}saml_failures_total`,
    help: 'SAML responses refused, by reason',
    labelNames: ['reason'],
    registers,
  });
  new Gauge({
    name: `${PREFIX}idp_certificate_expiry_days`,
    aggregator: 'min',
    help: 'Days until each IdP signing certificate expires (negative: expired), by SHA-256 fingerprint',
    labelNames: ['fingerprint'],
    registers,
    collect() {
      this.reset();
      const nowMs = now();
      for (const cert of sources?.idpSigningCerts() ?? []) this.labels(cert.fingerprintSha256).set(daysUntil(cert.notAfter.getTime(), nowMs));
    },
  });
  new Gauge({
    name: `${PREFIX}sp_certificate_expiry_days`,
    aggregator: 'min',
    help: 'Days until the SP certificate (saml.spCertificateFile) expires (negative: expired); absent without one',
    registers,
    collect() {
      this.reset();
      if (spNotAfterMs !== undefined) this.set(daysUntil(spNotAfterMs, now()));
    },
  });
  const metadataFailures = new Counter({
    name: `${PREFIX}idp_metadata_refresh_failures_total`,
    help: 'Failed loads or refreshes of the IdP metadata (the last good metadata stays in use)',
    registers,
  });
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  if (cluster.isWorker) {
    // Answers the primary's requests for this worker's metrics (prom-client's cluster protocol over IPC).
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([registry]);
  }

  // Series that alerts watch exist from the start (at 0), so that `increase()` sees their first event.
  const loginSuccess = zeroed(logins.labels('success', 'signed_in'));
  const samlFailureChildren = new Map(SAML_FAILURE_REASONS.map((reason) => [reason, zeroed(samlFailures.labels(reason))]));
  const loginFailureChildren = new Map<string, Counter.Internal>();
  const crowdChildren = new Map<string, CrowdChildren>();
  const refusalChildren = new Map(VALIDATION_REFUSAL_LIMITS.map((limit) => [limit, zeroed(validationsRefused.labels(limit))]));

  const childrenOf = (app: string): AppChildren => {
    let children = appChildren.get(app);
    if (children === undefined) {
      children = {
        pendingRequests: new Float64Array(ACCESS_DECISIONS.length * STATUS_CLASSES.length),
        upstream: upstreamDuration.labels(app),
      };
      appChildren.set(app, children);
    }
    return children;
  };
  const decisionIndex = new Map(ACCESS_DECISIONS.map((decision, index) => [decision, index]));
  const loginSucceeded = (): void => {
    loginSuccess.inc();
  };
  const loginFailed = (reason: string): void => {
    const known = LOGIN_FAILURE_REASONS.has(reason) ? reason : 'internal_error';
    let child = loginFailureChildren.get(known);
    if (child === undefined) {
      child = logins.labels('failure', known);
      loginFailureChildren.set(known, child);
    }
    child.inc();
    samlFailureChildren.get(known)?.inc();
  };

  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),

    bind(next) {
      sources = next;
      spNotAfterMs = next.spCertificate === undefined ? undefined : Date.parse(new X509Certificate(next.spCertificate).validTo);
      const byApp = new Map(next.apps.map((app) => [app, childrenOf(app)]));
      const none = childrenOf(NO_APP);
      return {
        request(app, decision, status) {
          const children = (app === undefined ? undefined : byApp.get(app)) ?? none;
          const statusClass = Math.min(Math.max(Math.floor(status / 100), 1), STATUS_CLASSES.length) - 1;
          children.pendingRequests[(decisionIndex.get(decision) ?? 0) * STATUS_CLASSES.length + statusClass] += 1;
        },
        upstreamResponse(app, seconds) {
          byApp.get(app)?.upstream.observe(seconds);
        },
        loginSucceeded,
        loginFailed,
      };
    },

    crowdCall(observation) {
      let children = crowdChildren.get(observation.endpoint);
      if (children === undefined) {
        children = {
          duration: crowdDuration.labels(observation.endpoint),
          errors: new Map(CROWD_ERROR_KINDS.map((kind) => [kind, zeroed(crowdErrors.labels(observation.endpoint, kind))])),
        };
        crowdChildren.set(observation.endpoint, children);
      }
      children.duration.observe(observation.durationMs / 1000);
      children.errors.get(observation.outcome)?.inc();
    },

    tokenCacheLookup(hit) {
      if (hit) tokenCacheHits.inc();
      else tokenCacheMisses.inc();
    },

    crowdValidationRefused(limit) {
      refusalChildren.get(limit)?.inc();
    },

    idpMetadataRefreshFailed() {
      metadataFailures.inc();
    },

    connectionRefused() {
      connectionsRefused.inc();
    },

    appRefusedSession(app) {
      appSessionRefusals.labels(app).inc();
    },
  };
}

/**
 * For the cluster primary: the metrics of every worker, summed (prom-client asks each worker over IPC). The
 * primary's own process metrics are not included; it serves no request.
 */
export function createClusterMetrics(): MetricsExposition {
  const aggregator = new AggregatorRegistry();
  return {
    contentType: aggregator.contentType,
    render: () => aggregator.clusterMetrics(),
  };
}

/** Makes the series appear in the exposition with the value 0. */
function zeroed(child: Counter.Internal): Counter.Internal {
  child.inc(0);
  return child;
}

function daysUntil(atMs: number, nowMs: number): number {
  return Math.round(((atMs - nowMs) / DAY_MS) * 1000) / 1000;
}
