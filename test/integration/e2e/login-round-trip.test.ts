import { createHash } from 'node:crypto';
import t from 'tap';
import { Browser } from '../../support/browser.js';
import { HTML } from '../../support/saml-login.js';
import { HOSTS, startStack } from '../../support/stack.js';

t.test('a deep link on Jira: IdP login, back on the exact deep link signed in, then Confluence without a new login', async (t) => {
  const stack = await startStack(t, { crowd: { consistentClientIp: true } });
  const browser = stack.browser();
  const deepLink = `http://${HOSTS.jira}/browse/DEMO-1?focusedCommentId=10&page=com.atlassian#comment-10`;

  const loginForm = await browser.navigate(deepLink);
  t.equal(loginForm.status, 200, 'the browser was sent to the IdP');
  t.ok(loginForm.url.startsWith(stack.idp.url), `now at the IdP (${loginForm.url.slice(0, 60)})`);
  t.match(loginForm.body, /name="password"/, 'the IdP asks for credentials');

  const autoPost = await browser.submitForm(loginForm, { username: 'alice', password: 'alice-pw' });
  t.match(autoPost.body, /action="http:\/\/jira\.sso\.test\/_sso\/saml\/acs"/, 'the IdP posts the signed response to the ACS on the same host');
  const landed = await browser.submitForm(autoPost);
  t.equal(landed.status, 200);
  t.equal(landed.url, deepLink, 'landed on the exact deep link, its fragment included (carried by the login-start page)');
  t.match(landed.body, /Logged in as <b>alice<\/b>/, 'the Jira-like app validated the cookie with Crowd and sees alice');
  t.match(landed.body, /\/browse\/DEMO-1/);

  const crowdCookies = browser.cookies.filter((c) => c.name === 'crowd.token_key');
  t.equal(crowdCookies.length, 1, 'one Crowd cookie in the browser');
  t.equal(crowdCookies[0]?.domain, 'sso.test', "set on Crowd's SSO domain");
  const sessions = [...stack.crowd.sessions.values()].filter((s) => s.username === 'alice');
  t.equal(sessions.length, 1, 'one Crowd SSO session was created for alice');

  const sessionCalls = stack.crowd.countCalls('POST', '/session?');
  const confluence = await browser.navigate(`http://${HOSTS.confluence}/display/DEMO/Welcome`);
  t.equal(confluence.status, 200);
  t.equal(confluence.url, `http://${HOSTS.confluence}/display/DEMO/Welcome`, 'no detour through the IdP');
  t.match(confluence.body, /Logged in as <b>alice<\/b>/, 'the Confluence-like app accepts the same cookie');
  t.equal(stack.crowd.countCalls('POST', '/session?'), sessionCalls, 'no new Crowd session for the second app');

  const login = stack.logs.find((line) => line.event === 'login');
  t.match(login, { outcome: 'success', user: 'alice', app: 'jira' }, 'the login is logged');
  t.notMatch(JSON.stringify(stack.logs), new RegExp(crowdCookies[0]?.value ?? 'never'), 'the token never appears in the log');
});

t.test('without JavaScript the login-start page still signs in, fragment-less; its script is allowed by its CSP hash alone', async (t) => {
  const stack = await startStack(t);
  const deepLink = `http://${HOSTS.jira}/browse/DEMO-1?focusedCommentId=10#comment-10`;
  const noScript = new Browser((hostname) => (hostname.endsWith('.sso.test') ? stack.proxyPort : undefined), { javascript: false });
  const start = await noScript.request(deepLink, { headers: HTML });
  t.equal(start.status, 200, 'a page, not a redirect: only the browser knows the fragment');
  t.match(start.body, `<noscript><meta http-equiv="refresh" content="0;url=/_sso/login?return=${encodeURIComponent(deepLink.replace(/#.*$/, '')).replaceAll('&', '&amp;')}"></noscript>`);
  const script = /<script>([^<]*)<\/script>/.exec(start.body)?.[1] ?? '';
  const csp = String(start.headers['content-security-policy']);
  t.match(csp, `script-src 'sha256-${createHash('sha256').update(script).digest('base64')}'`, 'the inline script runs under its hash');
  t.match(csp, "default-src 'none'", 'nothing else loads');
  t.equal(start.headers['cache-control'], 'no-store');

  const loginForm = await noScript.navigate(deepLink);
  const landed = await noScript.submitForm(await noScript.submitForm(loginForm, { username: 'alice', password: 'alice-pw' }));
  t.equal(landed.url, deepLink.replace(/#.*$/, ''), 'landed on the deep link without its fragment');
  t.match(landed.body, /Logged in as <b>alice<\/b>/);
});

t.test('the forwarded request carries exactly one, valid, Crowd cookie even when a stale one comes first', async (t) => {
  const stack = await startStack(t);
  const browser = stack.browser();
  const form = await browser.navigate(`http://${HOSTS.echo}/anything`);
  await browser.submitForm(await browser.submitForm(form, { username: 'alice', password: 'alice-pw' }));
  const token = browser.cookies.find((c) => c.name === 'crowd.token_key')?.value as string;
  t.ok(token);

  // A stale host-only cookie that the browser sends first, beside the valid domain cookie.
  const cookie = `JSESSIONID=abc; crowd.token_key=staleStaleStaleStale0000; atlassian.xsrf.token=x; crowd.token_key=${token}`;
  const res = await browser.request(`http://${HOSTS.echo}/rest/api/2/myself`, { headers: { cookie, accept: 'application/json' } });
  t.equal(res.status, 200);
  const seen = JSON.parse(res.body) as { headers: Record<string, string> };
  t.equal(seen.headers.cookie, `crowd.token_key=${token}; JSESSIONID=abc; atlassian.xsrf.token=x`, 'stale one removed, valid one first, others kept');

  const untouched = `JSESSIONID=abc; crowd.token_key=${token}`;
  const res2 = await browser.request(`http://${HOSTS.echo}/x`, { headers: { cookie: untouched, accept: 'application/json' } });
  t.equal((JSON.parse(res2.body) as { headers: Record<string, string> }).headers.cookie, untouched, 'a single valid cookie is forwarded untouched');
});
