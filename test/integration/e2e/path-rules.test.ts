/**
 * Per-app access rules through the proxy: presets, public / optional / credentials / required, app credentials
 * (Basic, Bearer, OAuth) passed through untouched, XHR and API clients answered 401 (never a redirect), ambiguous
 * paths, and the app's own login page sending the browser to the IdP and back where the app wanted to go.
 */
import t from 'tap';
import { followLoginStart, HTML, loginAs, post, response, startLogin } from '../../support/saml-login.js';
import { HOSTS, startStack } from '../../support/stack.js';

const JSON_ACCEPT = { accept: 'application/json' };
const XHR = { accept: 'application/json, text/javascript, */*; q=0.01', 'x-requested-with': 'XMLHttpRequest' };

const ECHO_RULES = {
  preset: 'jira',
  rules: [
    { path: '/public-area', action: 'public' },
    { path: '/anon/', action: 'optional' },
    { pattern: '^/api/v[0-9]+/', action: 'credentials' },
    { path: '/reports/', methods: ['GET'], action: 'public' },
  ],
};

t.test('public paths are forwarded without asking Crowd, and without the Crowd cookie', async (t) => {
  const stack = await startStack(t, { apps: { echo: ECHO_RULES } });
  const browser = stack.browser();
  const before = stack.crowd.countCalls('POST', '/session/');
  for (const path of ['/public-area', '/public-area/page?x=1', '/status', '/s/abc/1/_/download/batch/x/batch.css', '/reports/weekly']) {
    const res = await browser.request(`http://${HOSTS.echo}${path}`, { headers: { ...HTML, cookie: 'crowd.token_key=forgedForgedForged; JSESSIONID=j1' } });
    t.equal(res.status, 200, path);
    t.equal((JSON.parse(res.body) as { headers: Record<string, string> }).headers.cookie, 'JSESSIONID=j1', `${path}: an unchecked Crowd cookie never reaches the app`);
  }
  t.equal(stack.crowd.countCalls('POST', '/session/'), before, 'no Crowd call for public paths');
  const post = await browser.request(`http://${HOSTS.echo}/reports/weekly`, { method: 'POST', headers: JSON_ACCEPT, body: 'x' });
  t.equal(post.status, 401, 'a rule limited to GET does not open POST');
});

t.test('optional paths: anonymous without a session (Crowd cookie removed), the user when signed in', async (t) => {
  const stack = await startStack(t, { apps: { echo: ECHO_RULES } });
  const browser = stack.browser();
  const anonymous = await browser.request(`http://${HOSTS.echo}/anon/space`, { headers: HTML });
  t.equal(anonymous.status, 200, 'no redirect to the IdP');
  const stale = await browser.request(`http://${HOSTS.echo}/anon/space`, { headers: { ...HTML, cookie: 'JSESSIONID=j1; crowd.token_key=staleStaleStaleStale' } });
  t.equal(stale.status, 200);
  t.equal((JSON.parse(stale.body) as { headers: Record<string, string> }).headers.cookie, 'JSESSIONID=j1', 'an invalid Crowd cookie is not passed on');
  const token = await loginAs(stack, browser, HOSTS.echo);
  const signedIn = await browser.request(`http://${HOSTS.echo}/anon/space`, { headers: HTML });
  t.match((JSON.parse(signedIn.body) as { headers: Record<string, string> }).headers.cookie, `crowd.token_key=${token}`, 'with a session the app sees the user');
});

t.test('requests with their own credentials (Basic, Bearer, OAuth) reach the app untouched; others need a session', async (t) => {
  const stack = await startStack(t, { apps: { echo: ECHO_RULES } });
  const browser = stack.browser();
  const before = stack.crowd.countCalls('POST', '/session/');
  for (const authorization of ['Basic YWxpY2U6YWxpY2UtcHc=', 'Bearer NjI4MjQ4NTk2OTk2OmJ7PAT', 'OAuth oauth_consumer_key="confluence", oauth_signature="x"']) {
    for (const path of ['/rest/api/2/issue/DEMO-1', '/api/v2/items', '/plugins/servlet/oauth/request-token']) {
      const res = await browser.request(`http://${HOSTS.echo}${path}`, { method: 'POST', headers: { ...JSON_ACCEPT, authorization }, body: '{}' });
      t.equal(res.status, 200, `${authorization.split(' ')[0]} ${path}`);
      t.equal((JSON.parse(res.body) as { headers: Record<string, string> }).headers.authorization, authorization, 'Authorization reaches the app');
    }
  }
  t.equal(stack.crowd.countCalls('POST', '/session/'), before, 'the proxy never asked Crowd: the app checks the credentials');
  const without = await browser.request(`http://${HOSTS.echo}/rest/api/2/issue/DEMO-1`, { headers: JSON_ACCEPT });
  t.equal(without.status, 401);
  t.match(JSON.parse(without.body), { error: 'ERR_UNAUTHENTICATED', reason: 'no-session' });
  const negotiate = await browser.request(`http://${HOSTS.echo}/rest/api/2/issue/DEMO-1`, { headers: { ...JSON_ACCEPT, authorization: 'Negotiate YIIG' } });
  t.equal(negotiate.status, 401, 'other schemes are no app credentials');
  const elsewhere = await browser.request(`http://${HOSTS.echo}/browse/DEMO-1`, { headers: { ...JSON_ACCEPT, authorization: 'Basic YWxpY2U6YWxpY2UtcHc=' } });
  t.equal(elsewhere.status, 401, 'outside credentials paths Basic does not open the app');
});

t.test('XHR and API clients get 401 JSON, never a redirect; browsers are sent to the IdP', async (t) => {
  const stack = await startStack(t, { apps: { echo: ECHO_RULES } });
  const browser = stack.browser();
  for (const [name, headers] of [
    ['XHR', XHR],
    ['fetch', { accept: '*/*', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' }],
    ['API client', JSON_ACCEPT],
  ] as const) {
    const res = await browser.request(`http://${HOSTS.echo}/secure/Dashboard.jspa`, { headers });
    t.equal(res.status, 401, name);
    t.notOk(res.headers.location, `${name}: no redirect`);
  }
  const page = await followLoginStart(browser, await browser.request(`http://${HOSTS.echo}/secure/Dashboard.jspa`, { headers: HTML }));
  t.equal(page.status, 302);
  t.ok((page.headers.location as string).startsWith(stack.idp.ssoUrl), 'a page navigation goes to the IdP');
});

t.test('paths an app would resolve elsewhere are never public', async (t) => {
  const stack = await startStack(t, { apps: { echo: ECHO_RULES } });
  const browser = stack.browser();
  for (const path of ['/s/../secure/Admin.jspa', '/public-area/%2e%2e/secure', '/anon/..;/secure', '/public-area;x=1']) {
    const res = await browser.request(`http://${HOSTS.echo}${path}`, { headers: JSON_ACCEPT });
    t.equal(res.status, 401, path);
  }
  t.equal(stack.echo.requests.length, 0, 'none reached the app');
});

t.test("the app's own login page sends the browser to the IdP and back to the page the app named", async (t) => {
  const stack = await startStack(t, { apps: { echo: ECHO_RULES } });
  const browser = stack.browser();
  const login = await startLogin(browser, `http://${HOSTS.echo}/login.jsp?os_destination=%2Fbrowse%2FDEMO-7%3Ffocus%3D1`);
  const res = await post(browser, login.acsUrl, { SAMLResponse: response(stack, login), RelayState: login.relayState });
  t.equal(res.status, 303);
  t.equal(res.headers.location, `http://${HOSTS.echo}/browse/DEMO-7?focus=1`);
  const other = stack.browser();
  const offsite = await startLogin(other, `http://${HOSTS.echo}/login.jsp?os_destination=https%3A%2F%2Fevil.example%2F`);
  const landed = await post(other, offsite.acsUrl, { SAMLResponse: response(stack, offsite), RelayState: offsite.relayState });
  t.equal(landed.headers.location, `http://${HOSTS.echo}/`, 'an off-site destination lands on the start page');
});
