import t from 'tap';
import { isBrowserNavigation, type RequestKindFacts } from '../../../src/policy/request-kind.js';

const base: RequestKindFacts = { method: 'GET', accept: undefined, secFetchMode: undefined, secFetchDest: undefined, xRequestedWith: undefined };
const html = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

t.test('top-level navigations may be redirected to the IdP', async (t) => {
  t.ok(isBrowserNavigation({ ...base, accept: html, secFetchMode: 'navigate', secFetchDest: 'document' }));
  t.ok(isBrowserNavigation({ ...base, accept: html }), 'older browsers without Sec-Fetch-*');
  t.ok(isBrowserNavigation({ ...base, method: 'HEAD', accept: html }));
});

t.test('everything else gets a 401, never a redirect', async (t) => {
  const cases: [string, Partial<RequestKindFacts>][] = [
    ['POST form', { method: 'POST', accept: html }],
    ['XHR', { accept: html, xRequestedWith: 'XMLHttpRequest' }],
    ['fetch() from a page', { accept: '*/*', secFetchMode: 'cors', secFetchDest: 'empty' }],
    ['fetch() asking for HTML', { accept: html, secFetchMode: 'cors', secFetchDest: 'empty' }],
    ['image', { accept: 'image/avif,image/webp,*/*', secFetchMode: 'no-cors', secFetchDest: 'image' }],
    ['REST client', { accept: 'application/json' }],
    ['curl', { accept: '*/*' }],
    ['no Accept', {}],
    ['PUT', { method: 'PUT', accept: html }],
  ];
  for (const [name, facts] of cases) t.notOk(isBrowserNavigation({ ...base, ...facts }), name);
});
