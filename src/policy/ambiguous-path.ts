/**
 * Paths an application server may resolve to a different path than the one the proxy matched: dot segments
 * (also percent-encoded), encoded separators, `;` path parameters, backslashes, empty segments, NUL. Tomcat
 * and Jetty normalise these (`/s/..;x/../secure/Admin.jspa` → `/secure/Admin.jspa`), so such a path must never
 * match anything that loosens access (a public, optional or credentials rule, the login page, a logout or an
 * emergency path): it is treated as `required`, which still serves it to a signed-in user.
 */
const AMBIGUOUS = /\/\.{1,2}(?:\/|$)|\/\/|;|\\|%(?:2e|2f|5c|3b|25|00)/i;

export function isAmbiguousPath(path: string): boolean {
  return AMBIGUOUS.test(path);
}
