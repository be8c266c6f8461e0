/**
 * Observe mode: every decision is made and logged (would redirect, would refuse, why), but every request is
 * forwarded exactly as it came, cookies untouched; per app, or for all apps.
 */
import t from 'tap';
import { HTML, post, response, startLogin } from '../../support/saml-login.js';
import { HOSTS, startStack } from '../../support/stack.js';

const JSON_ACCEPT = { accept: 'application/json' };
type Echo = { headers: Record<string, string>; url: string; method: string };

t.test('observe mode forwards everything untouched and logs what enforce mode would do', async (t) => {
  const stack = await startStack(t, {
    config: { mode: 'observe' },
    apps: { echo: { preset: 'jira', emergencyAccess: { query: 'nosso', allowFrom: ['10.0.0.0/8'] } } },
  });
  const browser = stack.browser();
  const cookie = 'JSESSIONID=j1;crowd.token_key=staleStaleStaleStale ;  atlassian.xsrf.token=x';
  const cases: [string, string, Record<string, string>, string][] = [
    ['page without a session', '/browse/DEMO-1', HTML, 'would send the browser to the IdP (no-session, default)'],
    ['XHR without a session', '/rest/api/2/issue/DEMO-1', { accept: 'application/json', 'x-requested-with': 'XMLHttpRequest' }, 'would refuse with 401 (no-session, preset jira)'],
    ['emergency from a wrong network', '/login.jsp?nosso', HTML, 'would refuse emergency access with 403 (emergency-refused, apps[].emergencyAccess)'],
    ['public path', '/status', JSON_ACCEPT, 'would forward anonymously, without the Crowd cookie (public, preset jira)'],
  ];
  for (const [name, path, headers, message] of cases) {
    const res = await browser.request(`http://${HOSTS.echo}${path}`, { headers: { ...headers, cookie } });
    t.equal(res.status, 200, `${name}: forwarded`);
    const echo = JSON.parse(res.body) as Echo;
    t.equal(echo.url, path, `${name}: as asked`);
    t.equal(echo.headers.cookie, cookie, `${name}: cookies byte for byte`);
    t.ok(stack.logs.some((line) => line.mode === 'observe' && line.msg === `observe mode: ${message}`), `${name}: logged "${message}"`);
  }

  // Observe mode never redirects; users (and the administrator testing the rollout) sign in explicitly.
  const login = await startLogin(browser, `http://${HOSTS.echo}/_sso/login?return=%2F`);
  t.equal((await post(browser, login.acsUrl, { SAMLResponse: response(stack, login), RelayState: login.relayState })).status, 303, 'explicit sign-in works');
  const token = browser.cookies.find((c) => c.name === 'crowd.token_key')?.value as string;
  const stale = `crowd.token_key=staleStaleStaleStale; crowd.token_key=${token}`;
  const signedIn = await browser.request(`http://${HOSTS.echo}/secure/x`, { headers: { ...JSON_ACCEPT, cookie: stale } });
  t.equal((JSON.parse(signedIn.body) as Echo).headers.cookie, stale, 'even a stale cookie first is left as it is');
  t.ok(stack.logs.some((line) => line.msg === 'observe mode: would forward with the valid SSO session (session, default)' && line.user === 'alice'));

  const logout = await browser.request(`http://${HOSTS.echo}/logout`, { headers: HTML });
  t.equal(logout.status, 200);
  t.ok(stack.crowd.sessions.has(token), 'the logout path ended nothing');
  t.ok(stack.logs.some((line) => line.msg === "observe mode: would end the SSO session after the application's logout (logout, apps[].logoutPaths)"));

  stack.crowd.settings.hang = true;
  const crowdDown = await stack.browser().request(`http://${HOSTS.echo}/secure/y`, { headers: { ...JSON_ACCEPT, cookie: 'crowd.token_key=otherOtherOtherOther' } });
  t.equal(crowdDown.status, 200, 'Crowd not answering: still forwarded');
  t.ok(stack.logs.some((line) => line.mode === 'observe' && line.code === 'ERR_CROWD_UNAVAILABLE'), 'and the error it would have been is logged');
});

t.test('apps[].mode observes one app while the others enforce', async (t) => {
  const stack = await startStack(t, { apps: { echo: { mode: 'observe' } } });
  const browser = stack.browser();
  t.equal((await browser.request(`http://${HOSTS.echo}/secure/x`, { headers: JSON_ACCEPT })).status, 200, 'echo observes');
  t.equal((await browser.request(`http://${HOSTS.jira}/secure/x`, { headers: JSON_ACCEPT })).status, 401, 'jira enforces');
});
