import type { PageName } from '../errors.js';

export interface PageContent {
  readonly status: number;
  readonly message: string;
  readonly requestId: string;
  /** Optional link (e.g. "Sign in again") — already validated by the caller. */
  readonly link?: { readonly href: string; readonly text: string };
  /** One more sentence after the message (e.g. who the user is signed in as). */
  readonly note?: string;
}

const TITLES: Readonly<Record<PageName | 'signed-out' | 'not-found', string>> = {
  'bad-request': 'Bad request',
  'too-large': 'Request too large',
  'unknown-host': 'Unknown site',
  'login-failed': 'Sign-in failed',
  'login-expired': 'Sign-in expired',
  'no-account': 'No account',
  'account-ambiguous': 'Account not unique',
  'access-denied': 'Access denied',
  'try-later': 'Please try again later',
  'upstream-down': 'Application unavailable',
  'app-refused': 'The application did not accept your session',
  'signed-out': 'Signed out',
  'not-found': 'Not found',
};

const HINTS: Partial<Record<PageName, string>> = {
  'login-failed': 'If this keeps happening, send the reference below to your IT help desk.',
  'no-account': 'Ask your administrator to create your account, quoting the reference below.',
  'account-ambiguous': 'Ask your administrator to make your account unique, quoting the reference below.',
  'access-denied': 'Ask your administrator for access, quoting the reference below.',
  'try-later': 'If the problem lasts, send the reference below to your IT help desk.',
  'upstream-down': 'If the problem lasts, send the reference below to your IT help desk.',
  'app-refused': 'Please send the reference below to your IT help desk.',
};

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

/** A small self-contained HTML page (no external resources, nothing from the request echoed unescaped). */
export function renderPage(page: PageName | 'signed-out' | 'not-found', content: PageContent): string {
  const title = TITLES[page];
  const hint = (HINTS as Record<string, string | undefined>)[page];
  const link = content.link ? `<p><a href="${escapeHtml(content.link.href)}">${escapeHtml(content.link.text)}</a></p>` : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#172b4d;margin:0}main{max-width:36rem;margin:10vh auto;background:#fff;padding:2rem;border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.15)}h1{font-size:1.4rem;margin-top:0}.ref{color:#5e6c84;font-size:.85rem}a{color:#0052cc}</style>
</head><body><main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(content.message)}</p>${content.note ? `<p>${escapeHtml(content.note)}</p>` : ''}${hint ? `<p>${escapeHtml(hint)}</p>` : ''}${link}
<p class="ref">Reference: <code>${escapeHtml(content.requestId)}</code> · HTTP ${content.status}</p></main></body></html>
`;
}
