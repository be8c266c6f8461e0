/**
 * The cookie that binds a started login to the browser that started it (login CSRF): a random nonce whose hash is
 * sealed in the RelayState. One cookie per login (its id in the name), so logins started in parallel tabs each
 * finish; sent only to the ACS, and cleared when the login completes.
 *
 * The IdP's post to the ACS is a cross-site request, so the cookie must be SameSite=None, which browsers accept
 * only with Secure: on https, and on http://localhost and *.localhost (which browsers treat as secure). On other
 * plain-http hosts it has no SameSite attribute (the browser's default applies: Chrome sends such a cookie with a
 * cross-site post only within two minutes of setting it, so use https).
 */

export const LOGIN_BINDING_COOKIE_PREFIX = 'crowd_sso_proxy_login_';

export interface LoginBindingCookieShape {
  /** `<pathPrefix>/saml/acs`: the only path the browser sends it to. */
  readonly path: string;
  readonly secure: boolean;
  readonly maxAgeSeconds: number;
}

export function loginBindingCookieShape(publicScheme: 'http' | 'https', host: string, pathPrefix: string, loginTimeoutMs: number): LoginBindingCookieShape {
  const hostname = host.replace(/:\d+$/, '');
  const secure = publicScheme === 'https' || hostname === 'localhost' || hostname.endsWith('.localhost');
  return { path: `${pathPrefix}/saml/acs`, secure, maxAgeSeconds: Math.max(1, Math.ceil(loginTimeoutMs / 1000)) };
}

export const loginBindingCookieName = (id: string): string => `${LOGIN_BINDING_COOKIE_PREFIX}${id}`;

function attributes(shape: LoginBindingCookieShape, maxAgeSeconds: number): string {
  return `Path=${shape.path}; Max-Age=${maxAgeSeconds}; HttpOnly${shape.secure ? '; Secure; SameSite=None' : ''}`;
}

export function serializeLoginBinding(shape: LoginBindingCookieShape, id: string, nonce: string): string {
  return `${loginBindingCookieName(id)}=${nonce}; ${attributes(shape, shape.maxAgeSeconds)}`;
}

export function serializeLoginBindingClear(shape: LoginBindingCookieShape, id: string): string {
  return `${loginBindingCookieName(id)}=; ${attributes(shape, 0)}`;
}
