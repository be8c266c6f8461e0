/**
 * The page a browser navigation gets instead of a redirect when it needs to sign in: a browser never sends the URL's
 * fragment (`#comment-7`, a Confluence heading, a Bitbucket line anchor), so this page reads `location.hash` and carries
 * it into the login start's return URL; the login comes back to the page with its fragment. One inline script, allowed
 * by its hash alone (no external resource, nothing from the request inside the script). Without JavaScript the
 * `<noscript>` refresh starts the same login, fragment-less.
 */
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { escapeHtml } from './pages.js';

/** The `return` parameter must come last in the link: the script appends the encoded fragment to its value. */
const SCRIPT = 'var a=document.getElementById("sign-in");location.replace(a.href+encodeURIComponent(location.hash));';
const SCRIPT_HASH = createHash('sha256').update(SCRIPT).digest('base64');

const HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': `default-src 'none'; script-src 'sha256-${SCRIPT_HASH}'; style-src 'unsafe-inline'; frame-ancestors 'none'`,
});

/** `signInHref`: the proxy's login start on this host, ending in `return=<encoded URL>`. */
export function loginStartPage(signInHref: string): { readonly headers: Readonly<Record<string, string>>; readonly body: string } {
  const href = escapeHtml(signInHref);
  const body = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>Signing in</title>
<noscript><meta http-equiv="refresh" content="0;url=${href}"></noscript>
<style>body{font-family:system-ui,sans-serif;color:#172b4d;margin:10vh auto;max-width:36rem}a{color:#0052cc}</style>
</head><body><p><a id="sign-in" href="${href}">Continue to sign in</a></p><script>${SCRIPT}</script></body></html>
`;
  return { headers: HEADERS, body };
}

export function sendLoginStartPage(res: ServerResponse, signInHref: string): void {
  const { headers, body } = loginStartPage(signInHref);
  res.writeHead(200, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
