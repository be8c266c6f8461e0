/**
 * Where a browser may be sent after login: only to a configured app host, over the public scheme.
 * Pure: no I/O. Inputs come from users (the `return` parameter, the URL first asked for), so every
 * odd shape is refused rather than repaired.
 */

export interface ReturnUrlPolicyOptions {
  readonly publicScheme: 'http' | 'https';
  /** Every configured app host (lower-case, with :port when not default). */
  readonly hosts: readonly string[];
}

export interface ReturnUrlPolicy {
  /**
   * The absolute URL to return to, or undefined when `candidate` is not allowed.
   * `candidate` may be absolute or a path (`/browse/X-1?y`) relative to `currentHost`.
   */
  resolve(candidate: string, currentHost: string): string | undefined;
  /** The absolute URL of a path on a host (for URLs the proxy builds itself). */
  absolute(host: string, pathAndQuery: string): string;
}

// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARS = /[\u0000-\u001f\u007f\\]/;
const MAX_LENGTH = 4096;

export function createReturnUrlPolicy(options: ReturnUrlPolicyOptions): ReturnUrlPolicy {
  const hosts = new Set(options.hosts.map((h) => h.toLowerCase()));
  const scheme = options.publicScheme;
  const defaultPort = scheme === 'https' ? '443' : '80';

  const hostOf = (url: URL): string => (url.port && url.port !== defaultPort ? `${url.hostname}:${url.port}` : url.hostname);

  return {
    resolve(candidate, currentHost) {
      if (candidate.length === 0 || candidate.length > MAX_LENGTH || FORBIDDEN_CHARS.test(candidate)) return undefined;
      const isPath = candidate.startsWith('/') && !candidate.startsWith('//');
      if (!isPath && !/^https?:\/\//i.test(candidate)) return undefined;
      let url: URL;
      try {
        url = new URL(candidate, `${scheme}://${currentHost}`);
      } catch {
        return undefined;
      }
      if (url.protocol !== `${scheme}:` || url.username !== '' || url.password !== '') return undefined;
      if (!hosts.has(hostOf(url))) return undefined;
      return url.href;
    },
    absolute(host, pathAndQuery) {
      return `${scheme}://${host}${pathAndQuery}`;
    },
  };
}
