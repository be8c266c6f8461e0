/**
 * Emergency access (apps[].emergencyAccess): the app's own login page without SSO, only from the configured
 * networks and with the secret header when one is set; every use logged at warn with the client IP; refused
 * otherwise with a 403 page. Off unless configured.
 */
import t from 'tap';
import { followLoginStart, HTML } from '../../support/saml-login.js';
import { HOSTS, startStack } from '../../support/stack.js';

const FORM = { ...HTML, 'content-type': 'application/x-www-form-urlencoded' };
const SECRET = 'break-glass-secret-0123456789';

t.test('from an allowed network: the login page and its form reach the app without SSO, logged loudly', async (t) => {
  const stack = await startStack(t, { apps: { jira: { preset: 'jira', emergencyAccess: { query: 'nosso', allowFrom: ['127.0.0.0/8'] } } } });
  const browser = stack.browser();
  const page = await browser.request(`http://${HOSTS.jira}/login.jsp?nosso`, { headers: HTML });
  t.equal(page.status, 200, 'no redirect to the IdP');
  t.match(page.body, /<h2>Log in<\/h2>/, "the app's own login page");
  const submit = await browser.request(`http://${HOSTS.jira}/login.jsp`, { method: 'POST', headers: FORM, body: 'os_username=admin&os_password=x' });
  t.equal(submit.status, 200, 'the login form posts through');
  const uses = stack.logs.filter((line) => line.reason === 'emergency_access');
  t.equal(uses.length, 2, 'each use is logged');
  t.match(uses[0], { level: 40, clientIp: '127.0.0.1', app: 'jira', path: '/login.jsp' });

  const ordinary = await followLoginStart(browser, await browser.request(`http://${HOSTS.jira}/login.jsp`, { headers: HTML }));
  t.equal(ordinary.status, 302, 'without the switch the login page is the SSO login');
});

t.test('from another network: 403 page; the login form is an ordinary request', async (t) => {
  const stack = await startStack(t, { apps: { jira: { preset: 'jira', emergencyAccess: { query: 'nosso', allowFrom: ['10.0.0.0/8'] } } } });
  const browser = stack.browser();
  const page = await browser.request(`http://${HOSTS.jira}/login.jsp?nosso`, { headers: HTML });
  t.equal(page.status, 403);
  t.match(page.body, /Signing in without single sign-on is not available from here/);
  const refusal = stack.logs.find((line) => line.detail === 'emergency_access_refused');
  t.match(refusal, { level: 40, code: 'ERR_ACCESS_DENIED' });
  t.match(String(refusal?.msg), /127\.0\.0\.1/, 'the refusal names the client IP');
  const submit = await browser.request(`http://${HOSTS.jira}/login.jsp`, { method: 'POST', headers: FORM, body: 'os_username=admin&os_password=x' });
  t.equal(submit.status, 401, 'the form post gets no bypass');
  t.equal(stack.logs.filter((line) => line.reason === 'emergency_access').length, 0);
});

t.test('with a secret header: only the right value opens it', async (t) => {
  const stack = await startStack(t, {
    apps: { jira: { preset: 'jira', emergencyAccess: { path: '/login.jsp', query: 'nosso', allowFrom: ['127.0.0.1'], secretHeader: { name: 'X-Break-Glass', value: SECRET } } } },
  });
  const browser = stack.browser();
  t.equal((await browser.request(`http://${HOSTS.jira}/login.jsp?nosso`, { headers: HTML })).status, 403, 'no header');
  t.equal((await browser.request(`http://${HOSTS.jira}/login.jsp?nosso`, { headers: { ...HTML, 'x-break-glass': `${SECRET}x` } })).status, 403, 'wrong value');
  t.equal((await browser.request(`http://${HOSTS.jira}/login.jsp?nosso`, { headers: { ...HTML, 'x-break-glass': SECRET } })).status, 200, 'right value');
  t.notMatch(JSON.stringify(stack.logs), SECRET, 'the secret never reaches the log');
});

t.test('off by default: the nosso switch means nothing', async (t) => {
  const stack = await startStack(t, { apps: { jira: { preset: 'jira' } } });
  const browser = stack.browser();
  const res = await followLoginStart(browser, await browser.request(`http://${HOSTS.jira}/login.jsp?nosso`, { headers: HTML }));
  t.equal(res.status, 302, 'sent to the IdP like any login');
});
