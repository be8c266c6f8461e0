/** The proxy's own endpoints, below config.pathPrefix on every app host. */
export type EndpointName = 'saml/acs' | 'saml/slo' | 'saml/metadata' | 'login' | 'health' | 'ready';

/** What the router needs of an app's site: the hosts that reach it. The site itself is whatever the caller built for the app. */
export interface RoutedSite {
  readonly app: { readonly hosts: readonly string[] };
}

export type Route<S extends RoutedSite> =
  | { readonly kind: 'unknown-host' }
  | { readonly kind: 'endpoint'; readonly site: S; readonly endpoint: EndpointName | undefined }
  | { readonly kind: 'app'; readonly site: S };

export interface Router<S extends RoutedSite> {
  /** `host` as sent (any case); `path` without the query string. */
  route(host: string | undefined, path: string): Route<S>;
}

const ENDPOINTS: readonly EndpointName[] = ['saml/acs', 'saml/slo', 'saml/metadata', 'login', 'health', 'ready'];
const UNKNOWN_HOST = Object.freeze({ kind: 'unknown-host' as const });

/**
 * Compiled once at startup: Host → the app's site (everything built for the app: its policy, upstream, cookie rules,
 * found together, never looked up again by name), and the reserved prefix. Pure, no I/O; every route is built here.
 */
export function createRouter<S extends RoutedSite>(sites: readonly S[], pathPrefix: string): Router<S> {
  interface HostEntry {
    readonly appRoute: Route<S>;
    readonly endpoints: ReadonlyMap<string, Route<S>>;
    readonly unknownEndpoint: Route<S>;
  }
  const byHost = new Map<string, HostEntry>();
  for (const site of sites) {
    const endpoints = new Map<string, Route<S>>();
    for (const endpoint of ENDPOINTS) endpoints.set(endpoint, Object.freeze({ kind: 'endpoint', site, endpoint }));
    const entry: HostEntry = {
      appRoute: Object.freeze({ kind: 'app', site }),
      endpoints,
      unknownEndpoint: Object.freeze({ kind: 'endpoint', site, endpoint: undefined }),
    };
    for (const host of site.app.hosts) byHost.set(host, entry);
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
