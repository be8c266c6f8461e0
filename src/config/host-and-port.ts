/** Defaults and normal forms of where the proxy listens and how browsers name it (validation and compilation share them). */

/** listen.port without / with listen.tls (conditional, so the schema states them in its description). */
const DEFAULT_PORT = 8080;
const DEFAULT_TLS_PORT = 8443;

/** listen.port, defaulting by whether the proxy terminates TLS itself. */
export function resolveListenPort(port: number | undefined, hasTls: boolean): number {
  return port ?? (hasTls ? DEFAULT_TLS_PORT : DEFAULT_PORT);
}

/** publicScheme, defaulting to https exactly when the proxy terminates TLS itself. */
export function resolvePublicScheme(publicScheme: 'http' | 'https' | undefined, hasTls: boolean): 'http' | 'https' {
  return publicScheme ?? (hasTls ? 'https' : 'http');
}

/** A Host header value as browsers send it: lower-case, without the scheme's default port. */
export function normalizeHost(host: string, publicScheme: 'http' | 'https'): string {
  const lower = host.toLowerCase();
  const defaultPort = publicScheme === 'https' ? ':443' : ':80';
  return lower.endsWith(defaultPort) ? lower.slice(0, -defaultPort.length) : lower;
}
