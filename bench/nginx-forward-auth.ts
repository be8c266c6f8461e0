/**
 * nginx in front of the bench upstream with crowd-sso-proxy as its authentication service (forward-auth mode): every
 * request is first asked about at the proxy's `GET /_sso/auth` through `auth_request`, then forwarded by nginx itself
 * with the Cookie header the proxy vetted. Allowing answers are cached by nginx for a few seconds (the auth cache), so
 * most requests cost nginx no call to Node at all.
 *
 * The configuration is the minimum the forward-auth contract needs, written like the `nginx` reference row
 * (nginx-proxy.ts: one worker, upstream keep-alive, streamed responses), so that the two rows differ only by the
 * authentication subrequest. The auth cache and the connections to the proxy are as `crowd-sso-proxy nginx-config`
 * writes them (the same cache key, the cache on a tmpfs, 64 idle connections). The proxy must list 127.0.0.1 in
 * `trustedProxies`, else it answers 403.
 */
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AUTH_CACHE_KEY } from '../src/cli/nginx-config.js';
import { nginxConfigHead, startNginx, type NginxProxy } from './nginx-proxy.js';

export interface ForwardAuthPorts {
  /** The bench upstream. */
  readonly upstreamPort: number;
  /** The crowd-sso-proxy process, listening on 127.0.0.1. */
  readonly ssoPort: number;
}

/** How long nginx reuses an allowing answer of the proxy, as `crowd-sso-proxy nginx-config` sets it by default. */
export const AUTH_CACHE_SECONDS = 5;
const AUTH_PATH = '/_sso/auth';

/**
 * A tmpfs, as `crowd-sso-proxy nginx-config` puts the auth cache in /run (a tmpfs on systemd hosts, not in every
 * container): on disk, storing each new answer costs nginx about twice the CPU of the question.
 */
const TMPFS = '/dev/shm';

function forwardAuthConfig(dir: string, cacheDir: string, port: number, ports: ForwardAuthPorts): string {
  return `${nginxConfigHead(dir)}
  proxy_cache_path ${cacheDir}/auth-cache levels=1:2 keys_zone=sso_auth:10m max_size=64m inactive=60s use_temp_path=off;
  upstream app {
    server 127.0.0.1:${ports.upstreamPort};
    keepalive 64;
  }
  upstream sso {
    server 127.0.0.1:${ports.ssoPort};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    # The authentication subrequest: the original request's method, URI, Host and the client's own Cookie, no body.
    location = ${AUTH_PATH} {
      internal;
      proxy_pass http://sso${AUTH_PATH};
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Forwarded-For $remote_addr;
      # Allowing answers only; the proxy's no-store must not keep them out of the cache.
      proxy_cache sso_auth;
      proxy_cache_key "${AUTH_CACHE_KEY}";
      proxy_cache_valid 200 ${AUTH_CACHE_SECONDS}s;
      proxy_ignore_headers Cache-Control Expires Set-Cookie;
    }
    location / {
      auth_request ${AUTH_PATH};
      auth_request_set $sso_cookie $upstream_http_x_sso_cookie;
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header Cookie $sso_cookie;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_buffering off;
      # As nginx-config writes it: unbuffered responses are read in pieces of this size.
      proxy_buffer_size 16k;
      proxy_buffers 8 16k;
      proxy_busy_buffers_size 32k;
    }
  }
}
`;
}

/** `cpuList`: the CPUs nginx runs on; undefined = wherever the system puts it. */
export async function startNginxForwardAuth(binary: string, ports: ForwardAuthPorts, cpuList: string | undefined): Promise<NginxProxy> {
  const cacheDir = existsSync(TMPFS) ? mkdtempSync(join(TMPFS, 'crowd-sso-proxy-bench-auth-')) : undefined;
  const removeCache = (): void => {
    if (cacheDir !== undefined) rmSync(cacheDir, { recursive: true, force: true });
  };
  // nginx's worker (nobody, when started as root) reaches the cache folder its master creates in here.
  if (cacheDir !== undefined) chmodSync(cacheDir, 0o755);
  try {
    const nginx = await startNginx(binary, (dir, port) => forwardAuthConfig(dir, cacheDir ?? dir, port, ports), cpuList);
    return {
      ...nginx,
      async close() {
        await nginx.close();
        removeCache();
      },
    };
  } catch (error) {
    removeCache();
    throw error;
  }
}
