import type { SamlConfig } from '../config/runtime-config.js';
import { createServiceProvider, type IdpInfo, type ServiceProvider } from './service-provider.js';

/** Outcome of one periodic re-fetch of `saml.idp.metadataUrl`. */
export type IdpMetadataRefresh =
  | { readonly kind: 'unchanged'; readonly idp: IdpInfo }
  /** New metadata is in use from now on (e.g. a certificate added or removed during a rollover). */
  | { readonly kind: 'changed'; readonly idp: IdpInfo; readonly previous: IdpInfo }
  /** The fetch or the document failed; `idp` (the last good metadata) stays in use. */
  | { readonly kind: 'failed'; readonly error: unknown; readonly idp: IdpInfo; readonly retryInMs: number };

export interface LazyServiceProviderOptions {
  /** Called once per failed IdP metadata load (the proxy keeps serving valid sessions meanwhile). */
  readonly onLoadError: (error: unknown) => void;
  /** Called after every periodic refresh of a `metadata-url` IdP (never for files or manual settings). */
  readonly onRefresh?: (result: IdpMetadataRefresh) => void;
  /** Minimum time between two load attempts after a failure. */
  readonly retryMs?: number;
  readonly now?: () => number;
}

export type LazyServiceProvider = Pick<
  ServiceProvider,
  'createLoginRequest' | 'validateResponse' | 'createLogoutRequest' | 'createLogoutResponse' | 'readLogoutMessage' | 'checkReady' | 'close'
> & {
  /** Starts loading the IdP metadata in the background. */
  warmUp(): void;
  /** The IdP metadata in use; undefined until it has been loaded. */
  currentIdp(): IdpInfo | undefined;
};

/** After a failed refresh, the next attempt comes sooner than the regular interval. */
const FAILED_REFRESH_RETRY_MS = 60_000;

/**
 * The service provider, loaded on first use and retried (at most every `retryMs`) while the IdP
 * metadata cannot be had: an IdP outage at start-up refuses logins with a 502 page but never stops the
 * proxy from forwarding requests that already carry a valid Crowd session.
 *
 * Metadata from a URL is fetched again every `saml.metadataRefreshMs` once loaded. Good new metadata
 * replaces the old at once (every signing certificate it lists is trusted, so a rollover that lists
 * the old and the new certificate accepts both); a failed refresh keeps the last good metadata and is
 * retried within a minute.
 */
export function createLazyServiceProvider(config: SamlConfig, options: LazyServiceProviderOptions): LazyServiceProvider {
  const now = options.now ?? Date.now;
  const retryMs = options.retryMs ?? 10_000;
  const refreshMs = config.idp.kind === 'metadata-url' ? config.metadataRefreshMs : undefined;
  let current: ServiceProvider | undefined;
  let loading: Promise<ServiceProvider> | undefined;
  let lastFailure: { readonly atMs: number; readonly error: unknown } | undefined;
  let refreshTimer: NodeJS.Timeout | undefined;
  let refreshing: Promise<void> | undefined;
  let closed = false;

  function get(): Promise<ServiceProvider> {
    if (current !== undefined) return Promise.resolve(current);
    if (loading !== undefined) return loading;
    if (lastFailure !== undefined && now() - lastFailure.atMs < retryMs) return Promise.reject(lastFailure.error);
    loading = createServiceProvider(config).then(
      (sp) => {
        current = sp;
        loading = undefined;
        lastFailure = undefined;
        scheduleRefresh(refreshMs);
        return sp;
      },
      (error: unknown) => {
        loading = undefined;
        lastFailure = { atMs: now(), error };
        options.onLoadError(error);
        throw error;
      },
    );
    return loading;
  }

  function scheduleRefresh(delayMs: number | undefined): void {
    if (delayMs === undefined || closed) return;
    refreshTimer = setTimeout(() => {
      refreshing = refresh().finally(() => {
        refreshing = undefined;
      });
    }, delayMs);
    refreshTimer.unref();
  }

  async function refresh(): Promise<void> {
    const previous = current;
    if (previous === undefined || refreshMs === undefined) return;
    let next: ServiceProvider;
    try {
      next = await createServiceProvider(config);
    } catch (error) {
      const retryInMs = Math.min(refreshMs, FAILED_REFRESH_RETRY_MS);
      options.onRefresh?.({ kind: 'failed', error, idp: previous.idp, retryInMs });
      scheduleRefresh(retryInMs);
      return;
    }
    if (closed) {
      await next.close();
      return;
    }
    if (isSameIdp(previous.idp, next.idp)) {
      await next.close();
      options.onRefresh?.({ kind: 'unchanged', idp: previous.idp });
    } else {
      // Validations already running on `previous` finish on it: closing it only releases its metadata client.
      current = next;
      await previous.close();
      options.onRefresh?.({ kind: 'changed', idp: next.idp, previous: previous.idp });
    }
    scheduleRefresh(refreshMs);
  }

  return {
    warmUp: () => {
      get().catch(() => undefined);
    },
    currentIdp: () => current?.idp,
    createLoginRequest: async (request) => (await get()).createLoginRequest(request),
    validateResponse: async (request) => (await get()).validateResponse(request),
    createLogoutRequest: async (request) => (await get()).createLogoutRequest(request),
    createLogoutResponse: async (response) => (await get()).createLogoutResponse(response),
    readLogoutMessage: async (message, sloUrl) => (await get()).readLogoutMessage(message, sloUrl),
    checkReady: async () => {
      await (await get()).checkReady();
    },
    close: async () => {
      closed = true;
      clearTimeout(refreshTimer);
      await refreshing;
      await loading?.catch(() => undefined);
      await current?.close();
    },
  };
}

function isSameIdp(a: IdpInfo, b: IdpInfo): boolean {
  const fingerprints = (idp: IdpInfo): string => idp.signingCerts.map((cert) => cert.fingerprintSha256).sort().join(',');
  return a.entityId === b.entityId && a.ssoUrl === b.ssoUrl && a.sloUrl === b.sloUrl && fingerprints(a) === fingerprints(b);
}
