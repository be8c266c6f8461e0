import type { AppConfig } from '../config/runtime-config.js';

/** The proxy's own endpoints, below config.pathPrefix on every app host. */
export type EndpointName = 'saml/acs' | 'saml/slo' | 'saml/metadata' | 'login' | 'health' | 'ready';

export type Route =
  | { readonly kind: 'unknown-host' }
  | { readonly kind: 'endpoint'; readonly app: AppConfig; readonly endpoint: EndpointName | undefined }
  | { readonly kind: 'app'; readonly app: AppConfig };

export interface Router {
  /** `host` as sent (any case); `path` without the query string. */
  route(host: string | undefined, path: string): Route;
}

const ENDPOINTS: readonly EndpointName[] = ['saml/acs', 'saml/slo', 'saml/metadata', 'login', 'health', 'ready'];
const UNKNOWN_HOST: Route = Object.freeze({ kind: 'unknown-host' });

/** Compiled once at startup: Host → app, and the reserved prefix. Pure, no I/O. */
export function createRouter(apps: readonly AppConfig[], pathPrefix: string): Router {
  interface HostEntry {
    readonly appRoute: Route;
    readonly endpoints: ReadonlyMap<string, Route>;
    readonly unknownEndpoint: Route;
  }
  const byHost = new Map<string, HostEntry>();
  for (const app of apps) {
    const endpoints = new Map<string, Route>();
    for (const endpoint of ENDPOINTS) endpoints.set(endpoint, Object.freeze({ kind: 'endpoint', app, endpoint }));
    const entry: HostEntry = {
      appRoute: Object.freeze({ kind: 'app', app }),
      endpoints,
      unknownEndpoint: Object.freeze({ kind: 'endpoint', app, endpoint: undefined }),
    };
    for (const host of app.hosts) byHost.set(host, entry);
  }
  const prefixSlash = `${pathPrefix}/`;

  return {
    route(host, path) {
      if (host === undefined) return UNKNOWN_HOST;
      const entry = byHost.get(host) ?? byHost.get(host.toLowerCase());
      if (entry === undefined) return UNKNOWN_HOST;
      if (path === pathPrefix || path.startsWith(prefixSlash)) {
        return entry.endpoints.get(path.slice(prefixSlash.length)) ?? entry.unknownEndpoint;
      }
      return entry.appRoute;
    },
  };
}
