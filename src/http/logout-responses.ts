/**
 * The responses that end a logout, as plain values (status, headers, body), so they can be sent directly (the
 * SLO endpoint) or replace an application's own logout response (the forwarder's rewrite): the SAML message to the
 * IdP (redirect or auto-submitted form), a redirect to logout.redirectUrl, or the signed-out page.
 */
import type { ServerResponse } from 'node:http';
import type { OutgoingSamlMessage } from '../flows/ports.js';
import { renderPage } from './pages.js';
import { renderPostForm } from './post-form.js';
import { PAGE_HEADERS } from './respond.js';

export interface PlainResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export function samlMessageResponse(message: Exclude<OutgoingSamlMessage, { binding: 'none' }>): PlainResponse {
  if (message.binding === 'redirect') return { status: 302, headers: { location: message.url, 'cache-control': 'no-store' }, body: '' };
  const page = renderPostForm(message.url, message.fields);
  return { status: 200, headers: page.headers, body: page.body };
}

export interface SignedOutOptions {
  readonly requestId: string;
  /** logout.redirectUrl: sent there instead of the page. */
  readonly redirectUrl: string | undefined;
  /** `/_sso/login?return=…` on this host. */
  readonly signInHref: string;
  /** What happened, in plain words (one of SIGNED_OUT_MESSAGES). */
  readonly message: string;
  /** Default 200; 403 when the IdP's answer was refused (the page still says what is true: signed out here). */
  readonly status?: number;
}

export const SIGNED_OUT_MESSAGES = Object.freeze({
  everywhere: 'You are signed out of the Atlassian applications and of your identity provider.',
  here: 'You are signed out of the Atlassian applications. Your identity provider may still remember you: close the browser to end that too.',
  partial:
    'You are signed out of the Atlassian applications, but your identity provider reported that it could not end every session. Close the browser to be sure.',
  recently: 'You signed out a moment ago, so you were not signed in again automatically.',
  unverified:
    'You are signed out of the Atlassian applications. The answer from your identity provider could not be verified, so it may still remember you: close the browser to end that too.',
});

export function signedOutResponse(options: SignedOutOptions): PlainResponse {
  if (options.redirectUrl !== undefined) return { status: 302, headers: { location: options.redirectUrl, 'cache-control': 'no-store' }, body: '' };
  const status = options.status ?? 200;
  return {
    status,
    headers: PAGE_HEADERS,
    body: renderPage('signed-out', { status, message: options.message, requestId: options.requestId, link: { href: options.signInHref, text: 'Sign in again' } }),
  };
}

export function sendPlain(res: ServerResponse, response: PlainResponse, setCookies: readonly string[] = []): void {
  res.writeHead(response.status, {
    ...response.headers,
    'content-length': Buffer.byteLength(response.body),
    ...(setCookies.length === 0 ? {} : { 'set-cookie': [...setCookies] }),
  });
  res.end(response.body);
}

/**
 * A link to the proxy's login start on the same host: `/_sso/login?[reauth=1&]return=…` (`reauth`: ForceAuthn at the
 * IdP). `return` is always last, so the login-start page can append a fragment to it.
 */
export function signInLink(pathPrefix: string, returnUrl: string, options: { readonly reauth?: boolean } = {}): string {
  return `${pathPrefix}/login?${options.reauth === true ? 'reauth=1&' : ''}return=${encodeURIComponent(returnUrl)}`;
}
