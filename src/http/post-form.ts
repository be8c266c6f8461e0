/**
 * The HTTP-POST binding's page: a form that the browser submits at once to the IdP, carrying a SAML message
 * (LogoutRequest or LogoutResponse). The script runs under a per-response CSP nonce; without JavaScript the
 * person presses the button.
 */
import { randomBytes } from 'node:crypto';
import { escapeHtml } from './pages.js';

export interface RenderedPage {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export function renderPostForm(url: string, fields: Readonly<Record<string, string>>): RenderedPage {
  const nonce = randomBytes(16).toString('base64');
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('');
  const body = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>Signing out</title></head>
<body><form method="post" action="${escapeHtml(url)}">${inputs}<p>Signing you out at your identity provider&hellip;</p><button type="submit">Continue</button></form>
<script nonce="${nonce}">document.forms[0].submit();</script></body></html>
`;
  return {
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; form-action ${formActionSource(url)}; frame-ancestors 'none'`,
    },
    body,
  };
}

/** The form's target origin, for form-action (the message goes nowhere else). */
function formActionSource(url: string): string {
  return new URL(url).origin;
}
