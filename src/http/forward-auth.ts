/**
 * Forward-auth mode: the product as the authentication service of an existing edge proxy (nginx `auth_request`,
 * Traefik `forwardAuth`, Caddy `forward_auth`), like oauth2-proxy's `/oauth2/auth`. The edge proxy asks
 * `<pathPrefix>/auth` about each request before it forwards it; the gate decides exactly as in the standalone proxy
 * (same routing, rules, session, access, step-up, observe mode), and only the delivery differs:
 *
 *   allow   200, `X-SSO-Cookie` = the Cookie header to send upstream (exactly one valid Crowd cookie, or none),
 *           `X-SSO-User` = the Crowd user when there is a session; with `?redirect=1` also as `Cookie` (Traefik can
 *           copy an answer header only under its own name)
 *   login   nginx: 401 with `X-SSO-Login` (auth_request accepts only 2xx/401/403; the config turns it into a 302);
 *           `?redirect=1` (Traefik, Caddy: they pass any non-2xx answer on): 302 to the login start, an absolute URL
 *           on the app host (Traefik resolves a relative Location against the auth address)
 *   deny    401 (with the app's Basic challenge for non-browser clients) or 403
 *
 * The original request comes from the headers the edge proxy sets: nginx `X-Original-URI`/`X-Original-Method` and
 * `Host`; Traefik and Caddy `X-Forwarded-Method/-Host/-Uri`. Only from `trustedProxies`: anyone else could ask
 * about made-up requests.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

/** What the gate decided for the original request, as forward-auth delivers it. */
export type ForwardAuthVerdict =
  | { readonly kind: 'allow'; readonly cookieHeader: string; readonly user: string | undefined }
  | { readonly kind: 'login'; readonly signInHref: string }
  | { readonly kind: 'deny'; readonly status: 401 | 403; readonly challenge: string | undefined };

/** Headers that describe the original request to us, never part of it. */
const DESCRIBING_HEADERS = ['x-original-uri', 'x-original-method', 'x-forwarded-uri', 'x-forwarded-method', 'x-forwarded-host'] as const;

const first = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

/**
 * The request the edge proxy is about to forward, as the gate reads a request (method, url, headers): the client's own
 * headers (Cookie, Authorization, Accept, Sec-Fetch-*) as the edge proxy passed them, without the describing ones.
 * Undefined when the edge proxy did not say which request it asks about.
 */
export function originalRequest(req: IncomingMessage): IncomingMessage | undefined {
  const nginxUri = first(req.headers['x-original-uri']);
  const url = nginxUri ?? first(req.headers['x-forwarded-uri']);
  if (url === undefined || url === '') return undefined;
  const method = (first(req.headers['x-original-method']) ?? first(req.headers['x-forwarded-method']) ?? 'GET').toUpperCase();
  // nginx sends the app host as Host; Traefik and Caddy call the product under its own name and say X-Forwarded-Host.
  // Each form reads only its own header, so a client-sent X-Forwarded-Host cannot name another app through nginx.
  const host = nginxUri !== undefined ? req.headers.host : first(req.headers['x-forwarded-host']);
  const headers: IncomingHttpHeaders = { ...req.headers };
  for (const name of DESCRIBING_HEADERS) delete headers[name];
  if (host === undefined) delete headers.host;
  else headers.host = host;
  // The gate reads only method, url and headers (the client address was resolved from the edge proxy's connection).
  return { method, url, headers, socket: req.socket } as unknown as IncomingMessage;
}

/** `redirectMode`: Traefik and Caddy (`?redirect=1`); `origin`: the app host's `<scheme>://<host>`, for an absolute Location. */
export function sendVerdict(res: ServerResponse, verdict: ForwardAuthVerdict, redirectMode: boolean, origin = ''): void {
  const base = { 'cache-control': 'no-store', 'content-length': 0 };
  switch (verdict.kind) {
    case 'allow':
      res.writeHead(200, {
        ...base,
        'x-sso-cookie': verdict.cookieHeader,
        ...(redirectMode ? { cookie: verdict.cookieHeader } : {}),
        ...(verdict.user === undefined ? {} : { 'x-sso-user': verdict.user }),
      });
      break;
    case 'login':
      if (redirectMode) res.writeHead(302, { ...base, location: `${origin}${verdict.signInHref}` });
      else res.writeHead(401, { ...base, 'x-sso-login': verdict.signInHref });
      break;
    case 'deny':
      res.writeHead(verdict.status, { ...base, ...(verdict.challenge === undefined ? {} : { 'www-authenticate': verdict.challenge }) });
      break;
  }
  res.end();
}
