import type { SamlConfig } from '../config/runtime-config.js';
import { createServiceProvider, type ServiceProvider } from './service-provider.js';

export interface LazyServiceProviderOptions {
  /** Called once per failed IdP metadata load (the proxy keeps serving valid sessions meanwhile). */
  readonly onLoadError: (error: unknown) => void;
  /** Minimum time between two load attempts after a failure. */
  readonly retryMs?: number;
  readonly now?: () => number;
}

export type LazyServiceProvider = Pick<ServiceProvider, 'createLoginRequest' | 'validateResponse' | 'checkReady' | 'close'> & {
  /** Starts loading the IdP metadata in the background. */
  warmUp(): void;
};

/**
 * The service provider, loaded on first use and retried (at most every `retryMs`) while the IdP
 * metadata cannot be had: an IdP outage at start-up refuses logins with a 502 page but never stops the
 * proxy from forwarding requests that already carry a valid Crowd session.
 */
export function createLazyServiceProvider(config: SamlConfig, options: LazyServiceProviderOptions): LazyServiceProvider {
  const now = options.now ?? Date.now;
  const retryMs = options.retryMs ?? 10_000;
  let current: ServiceProvider | undefined;
  let loading: Promise<ServiceProvider> | undefined;
  let lastFailure: { readonly atMs: number; readonly error: unknown } | undefined;

  function get(): Promise<ServiceProvider> {
    if (current !== undefined) return Promise.resolve(current);
    if (loading !== undefined) return loading;
    if (lastFailure !== undefined && now() - lastFailure.atMs < retryMs) return Promise.reject(lastFailure.error);
    loading = createServiceProvider(config).then(
      (sp) => {
        current = sp;
        loading = undefined;
        lastFailure = undefined;
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

  return {
    warmUp: () => {
      get().catch(() => undefined);
    },
    createLoginRequest: async (request) => (await get()).createLoginRequest(request),
    validateResponse: async (request) => (await get()).validateResponse(request),
    checkReady: async () => {
      await (await get()).checkReady();
    },
    close: async () => {
      await loading?.catch(() => undefined);
      await current?.close();
    },
  };
}
