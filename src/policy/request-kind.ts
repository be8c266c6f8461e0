/**
 * Whether a request is a top-level browser navigation (which may be sent to the IdP) or anything else
 * (XHR, fetch, API client, non-GET), which gets a 401 instead of a redirect it could not follow.
 * Pure: reads only the few headers it needs.
 */
export interface RequestKindFacts {
  readonly method: string | undefined;
  readonly accept: string | undefined;
  readonly secFetchMode: string | undefined;
  readonly secFetchDest: string | undefined;
  readonly xRequestedWith: string | undefined;
}

/** The facts from a request's method and headers (a repeated header counts with its first value). */
export function requestKindFacts(method: string | undefined, headers: Readonly<Record<string, string | string[] | undefined>>): RequestKindFacts {
  return {
    method,
    accept: first(headers.accept),
    secFetchMode: first(headers['sec-fetch-mode']),
    secFetchDest: first(headers['sec-fetch-dest']),
    xRequestedWith: first(headers['x-requested-with']),
  };
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Whether a browser sent the request (every current browser sends `Sec-Fetch-Mode`; older ones' XHR say
 * `X-Requested-With`). A 401 to a browser must not carry a Basic challenge, which would open its password dialog.
 */
export function isFromBrowser(facts: RequestKindFacts): boolean {
  return facts.secFetchMode !== undefined || facts.xRequestedWith !== undefined;
}

export function isBrowserNavigation(facts: RequestKindFacts): boolean {
  if (facts.method !== 'GET' && facts.method !== 'HEAD') return false;
  return isDocumentRequest(facts);
}

/** A browser asking for a page to show, with any method (a form post included); XHR and fetch are not. */
export function isDocumentRequest(facts: RequestKindFacts): boolean {
  if (facts.xRequestedWith !== undefined && facts.xRequestedWith.toLowerCase() === 'xmlhttprequest') return false;
  if (facts.secFetchMode !== undefined) {
    // Modern browsers say exactly what this is; only a navigation of a document (or frame) may be redirected.
    return facts.secFetchMode === 'navigate' && (facts.secFetchDest === undefined || facts.secFetchDest === 'document' || facts.secFetchDest === 'iframe' || facts.secFetchDest === 'frame');
  }
  return facts.accept !== undefined && facts.accept.includes('text/html');
}
