/** Drives a login at the proxy with SAML Responses signed in the test (for rejection tests and quick logins). */
import { readDemoKeyPair } from '../../examples/demo/demo-keys.js';
import { buildSamlResponse, parseAuthnRequest, type SamlResponseOptions } from '../../examples/demo/saml-response.js';
import { LOGIN_BINDING_COOKIE_PREFIX } from '../../src/policy/login-binding-cookie.js';
import type { Browser, BrowserResponse } from './browser.js';
import { SP_ENTITY_ID, type Stack } from './stack.js';

const idpKeys = readDemoKeyPair('idp');
export const HTML = { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };

export interface StartedLogin {
  readonly requestId: string;
  readonly relayState: string;
  readonly acsUrl: string;
  /** The login-binding cookie the proxy set with the redirect (only this browser can finish the login). */
  readonly binding: { readonly name: string; readonly value: string };
}

export async function startLogin(browser: Browser, url: string): Promise<StartedLogin> {
  const first = await browser.request(url, { headers: HTML });
  // A GET navigation gets the login-start page first (it carries the fragment); its link starts the login.
  const startPage = browser.nextOf(first);
  const res = first.status === 200 && startPage !== undefined ? await browser.request(startPage, { headers: HTML }) : first;
  if (res.status !== 302) throw new Error(`expected a redirect to the IdP, got ${res.status}`);
  const location = new URL(res.headers.location as string);
  const request = parseAuthnRequest(location.searchParams.get('SAMLRequest') as string);
  const bindingPair = (res.headers['set-cookie'] ?? []).map((line) => line.split(';', 1)[0] ?? '').find((pair) => pair.startsWith(LOGIN_BINDING_COOKIE_PREFIX));
  if (bindingPair === undefined) throw new Error('the login redirect set no login-binding cookie');
  const [name = '', value = ''] = bindingPair.split('=', 2);
  return { requestId: request.id, relayState: location.searchParams.get('RelayState') as string, acsUrl: request.acsUrl as string, binding: { name, value } };
}

/**
 * What a page navigation that must sign in leads to: the proxy's login-start page first (a 200 that carries the
 * URL's fragment), then its link's 302 to the IdP. Returns that 302; any other answer is returned unchanged.
 */
export async function followLoginStart(browser: Browser, res: BrowserResponse): Promise<BrowserResponse> {
  const link = res.status === 200 ? browser.nextOf(res) : undefined;
  return link === undefined ? res : browser.request(link, { headers: HTML });
}

/** `browser` with the login-binding cookie of `login` (as an attacker who stole it, or a test posting from elsewhere). */
export function holdingBinding(browser: Browser, login: StartedLogin): Browser {
  browser.setCookie(new URL(login.acsUrl).host, login.binding.name, login.binding.value);
  return browser;
}

export function response(stack: Stack, login: Pick<StartedLogin, 'requestId' | 'acsUrl'>, overrides: Partial<SamlResponseOptions> = {}): string {
  const now = Date.now();
  return buildSamlResponse({
    issuer: stack.idp.entityId,
    destination: login.acsUrl,
    recipient: login.acsUrl,
    audience: SP_ENTITY_ID,
    inResponseTo: login.requestId,
    nameId: 'alice',
    sessionIndex: '_s1',
    notBefore: new Date(now - 30_000),
    notOnOrAfter: new Date(now + 300_000),
    sign: 'assertion',
    privateKeyPem: idpKeys.keyPem,
    certPem: idpKeys.certPem,
    ...overrides,
  });
}

export async function post(browser: Browser, acsUrl: string, fields: Record<string, string>, accept = 'text/html') {
  return browser.request(acsUrl, {
    method: 'POST',
    headers: { accept, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

/** Logs `nameId` in through the ACS of `host`; returns the Crowd token the browser now holds. */
export async function loginAs(stack: Stack, browser: Browser, host: string, nameId = 'alice'): Promise<string> {
  const login = await startLogin(browser, `http://${host}/`);
  const res = await post(browser, login.acsUrl, { SAMLResponse: response(stack, login, { nameId }), RelayState: login.relayState });
  if (res.status !== 303) throw new Error(`login of ${nameId} failed with ${res.status}: ${res.body.slice(0, 300)}`);
  const token = browser.cookies.find((c) => c.name === 'crowd.token_key')?.value;
  if (token === undefined) throw new Error('no Crowd cookie after login');
  return token;
}
