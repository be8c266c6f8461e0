/**
 * Where the real IdP puts its signature (SimpleSAMLphp's `saml20.sign.response` / `saml20.sign.assertion`) against
 * what the proxy requires (`saml.requireSignature`): each accepted combination signs in, in Chromium; a refused one
 * shows the proxy's error page instead. The Response the browser posts to the ACS is looked at too, so the test
 * proves SimpleSAMLphp really signed where it was told to.
 */
import t, { type Test } from 'tap';
import type { Request } from 'playwright-core';
import { chromiumAvailable } from '../../support/chromium.js';
import { loginAtIdp, simpleSamlPhpAvailable, startRealIdpStack } from '../../support/simplesamlphp.js';
import { HOSTS, SP_ENTITY_ID } from '../../support/stack.js';

const skip = simpleSamlPhpAvailable() ?? chromiumAvailable();
t.setTimeout(300_000);

type Placement = 'response' | 'assertion' | 'both';
type Required = 'either' | 'assertion' | 'response' | 'both';

/** Which parts of a posted SAML Response carry an XML signature. */
function signedParts(acsPost: Request): { readonly response: boolean; readonly assertion: boolean } {
  const form = new URLSearchParams(acsPost.postData() ?? '');
  const xml = Buffer.from(form.get('SAMLResponse') ?? '', 'base64').toString('utf8');
  const assertion = /<saml:Assertion\b[\s\S]*<\/saml:Assertion>/.exec(xml)?.[0] ?? '';
  return { response: /<ds:Signature\b/.test(xml.replace(assertion, '')), assertion: /<ds:Signature\b/.test(assertion) };
}

async function signIn(t: Test, placement: Placement, required: Required) {
  const { stack, chromium } = await startRealIdpStack(t, {
    idp: {
      sp: { entityId: SP_ENTITY_ID },
      users: [{ username: 'alice', password: 'alice-pw' }],
      signResponse: placement !== 'assertion',
      signAssertion: placement !== 'response',
    },
    stack: { config: { saml: { requireSignature: required } } },
  });
  const { page } = await chromium.newPage();
  const target = `http://${HOSTS.jira}/browse/DEMO-1`;
  await page.goto(target);
  const acsAnswer = page.waitForResponse((res) => res.url() === stack.acsUrl(HOSTS.jira) && res.request().method() === 'POST');
  await loginAtIdp(page, 'alice', 'alice-pw');
  const acs = await acsAnswer;
  t.same(signedParts(acs.request()), { response: placement !== 'assertion', assertion: placement !== 'response' }, `SimpleSAMLphp signed the ${placement === 'both' ? 'response and the assertion' : `${placement} only`}`);
  return { stack, page, target, acs };
}

const accepted: [Placement, Required][] = [
  ['response', 'either'],
  ['assertion', 'either'],
  ['both', 'either'],
  ['response', 'response'],
  ['assertion', 'assertion'],
  ['both', 'both'],
];

for (const [placement, required] of accepted) {
  t.test(`IdP signs ${placement === 'both' ? 'response and assertion' : `the ${placement} only`}, proxy requires ${required}: signed in`, { skip, timeout: 120_000 }, async (t) => {
    const { stack, page, target, acs } = await signIn(t, placement, required);
    t.equal(acs.status(), 303, 'the ACS accepted the Response');
    await page.waitForURL(target);
    t.equal(await page.textContent('#user'), 'Logged in as alice');
    t.match(stack.logs.find((line) => line.event === 'login'), { outcome: 'success', user: 'alice' });
  });
}

const refused: [Placement, Required][] = [
  ['assertion', 'response'],
  ['response', 'both'],
];

for (const [placement, required] of refused) {
  t.test(`IdP signs the ${placement} only, proxy requires ${required}: the error page, not signed in`, { skip, timeout: 120_000 }, async (t) => {
    const { stack, page, acs } = await signIn(t, placement, required);
    t.ok([400, 403].includes(acs.status()), `the ACS refused the Response (HTTP ${acs.status()})`);
    await page.waitForURL(stack.acsUrl(HOSTS.jira));
    t.pass("the browser stays on the proxy's error page at the ACS");
    t.match(await page.textContent('body'), /Sign-in failed/);
    t.equal((await page.context().cookies()).filter((cookie) => cookie.name === 'crowd.token_key').length, 0, 'no Crowd cookie');
    t.equal([...stack.crowd.sessions.values()].length, 0, 'no Crowd session');
    const missing = placement === 'assertion' ? 'response_unsigned' : 'assertion_unsigned';
    t.match(stack.logs.find((line) => line.event === 'login'), { outcome: 'failure', reason: 'saml_signature', detail: missing }, `the log names the missing signature (${missing})`);
  });
}
