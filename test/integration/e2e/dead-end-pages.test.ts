/**
 * The No account, Account deactivated, Access denied and Not unique pages are no dead end: they say whom the IdP
 * signed in, and "Sign in as someone else" starts a login with ForceAuthn, so the IdP asks for credentials again.
 */
import t, { type Test } from 'tap';
import { parseAuthnRequest } from '../../../examples/demo/saml-response.js';
import type { Browser, BrowserResponse } from '../../support/browser.js';
import { HTML, loginAs, post, response, startLogin } from '../../support/saml-login.js';
import { HOSTS, startStack, type Stack } from '../../support/stack.js';

const DEEP_LINK = `http://${HOSTS.jira}/browse/DEMO-1`;

async function signInAs(stack: Stack, browser: Browser, nameId: string): Promise<BrowserResponse> {
  const login = await startLogin(browser, DEEP_LINK);
  return post(browser, login.acsUrl, { SAMLResponse: response(stack, login, { nameId }), RelayState: login.relayState });
}

/** Follows the page's "Sign in as someone else" link; returns the AuthnRequest it sends the browser with. */
async function signInAsSomeoneElse(t: Test, browser: Browser, page: BrowserResponse, returnUrl: string) {
  const href = /<a href="([^"]+)">Sign in as someone else<\/a>/.exec(page.body)?.[1]?.replaceAll('&amp;', '&');
  t.equal(href, `/_sso/login?reauth=1&return=${encodeURIComponent(returnUrl)}`, 'the page links to a new sign-in that returns to the same page');
  const started = await browser.request(`http://${HOSTS.jira}${href ?? '/'}`, { headers: HTML });
  t.equal(started.status, 302, 'to the IdP');
  const location = new URL(started.headers.location as string);
  return parseAuthnRequest(location.searchParams.get('SAMLRequest') as string);
}

t.test('No account, Account deactivated and Not unique name the IdP account and offer another', async (t) => {
  const stack = await startStack(t, {
    crowd: {
      users: [
        { name: 'alice', password: 'x', email: 'alice@example.com' },
        { name: 'carol', password: 'x', email: 'carol@example.com', active: false },
        { name: 'sam', password: 'x', email: 'shared@example.com' },
        { name: 'samuel', password: 'x', email: 'shared@example.com' },
      ],
    },
    config: { identity: { username: [{ from: 'nameId', lookup: 'email' }, { from: 'nameId' }] } },
  });
  const cases = [
    { nameId: 'nobody@example.com', title: 'No account' },
    { nameId: 'carol@example.com', title: 'Access denied', message: /deactivated/ },
    { nameId: 'shared@example.com', title: 'Account not unique' },
  ];
  for (const c of cases) {
    const browser = stack.browser();
    const page = await signInAs(stack, browser, c.nameId);
    t.equal(page.status, 403, `${c.nameId}: refused`);
    t.match(page.body, `<h1>${c.title}</h1>`, `${c.nameId}: the ${c.title} page`);
    if (c.message) t.match(page.body, c.message);
    t.match(page.body, `Your identity provider signed you in as &quot;${c.nameId}&quot;`, `${c.nameId}: names the IdP account`);
    const request = await signInAsSomeoneElse(t, browser, page, DEEP_LINK);
    t.equal(request.forceAuthn, true, `${c.nameId}: the IdP is asked to authenticate again (ForceAuthn)`);
  }
});

t.test('Access denied by apps[].access, at login and on a later page, offers another account too', async (t) => {
  const stack = await startStack(t, { apps: { jira: { access: { crowdGroups: ['jira-users'] } }, confluence: { access: { crowdGroups: ['wiki-users'] } } } });
  const browser = stack.browser();
  const atLogin = await signInAs(stack, browser, 'alice');
  t.equal(atLogin.status, 403);
  t.match(atLogin.body, '<h1>Access denied</h1>');
  t.match(atLogin.body, 'signed you in as &quot;alice&quot;');
  t.equal((await signInAsSomeoneElse(t, browser, atLogin, DEEP_LINK)).forceAuthn, true);

  // Signed in through another app, then opening one the user may not use.
  const signedIn = stack.browser();
  await loginAs(stack, signedIn, HOSTS.echo);
  const wiki = await signedIn.request(`http://${HOSTS.confluence}/display/X?a=1`, { headers: HTML });
  t.equal(wiki.status, 403);
  t.match(wiki.body, 'signed you in as &quot;alice&quot;', 'the Crowd user the session belongs to');
  const href = /<a href="([^"]+)">Sign in as someone else<\/a>/.exec(wiki.body)?.[1]?.replaceAll('&amp;', '&');
  t.equal(href, `/_sso/login?reauth=1&return=${encodeURIComponent(`http://${HOSTS.confluence}/display/X?a=1`)}`, 'returns to that page');
});

t.test('other refusals (a bad SAML response) offer no such link', async (t) => {
  const stack = await startStack(t);
  const browser = stack.browser();
  const login = await startLogin(browser, DEEP_LINK);
  const page = await post(browser, login.acsUrl, { SAMLResponse: response(stack, login, { sign: 'none' }), RelayState: login.relayState });
  t.equal(page.status, 403);
  t.notMatch(page.body, 'Sign in as someone else');
});
