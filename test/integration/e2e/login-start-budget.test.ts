/**
 * saml.maxLoginStartsPerClientPerMinute: starting a login costs a few times a forwarded request's CPU (an
 * AuthnRequest, maybe signed, and a sealed RelayState), so one address may start only so many; the excess gets 429
 * with Retry-After, one warning a minute, and other addresses are not affected.
 */
import t from 'tap';
import { HTML } from '../../support/saml-login.js';
import { HOSTS, startStack } from '../../support/stack.js';

t.test('one address may start at most the burst of logins at once; the excess gets 429 with Retry-After', async (t) => {
  let nowMs = 1_800_000_000_000;
  const stack = await startStack(t, { config: { saml: { maxLoginStartsPerClientPerMinute: 60 }, trustedProxies: ['127.0.0.1/32'] }, now: () => nowMs });
  const browser = stack.browser();
  const start = (clientIp: string) =>
    browser.request(`http://${HOSTS.jira}/_sso/login?return=${encodeURIComponent(`http://${HOSTS.jira}/browse/DEMO-1`)}`, { headers: { ...HTML, 'x-forwarded-for': clientIp } });
  const statuses: number[] = [];
  for (let i = 0; i < 14; i++) statuses.push((await start('192.0.2.7')).status);
  t.same(statuses, [...Array(12).fill(302), 429, 429], 'a burst of 12 (a fifth of 60, at least 10), then refused');
  const refused = await start('192.0.2.7');
  t.equal(refused.status, 429);
  t.match(refused.headers['retry-after'], /^\d+$/);
  t.match(refused.body, /Too many sign-ins were started from your network/);
  t.equal(stack.logs.filter((line) => line.reason === 'too_many_logins').length, 1, 'one warning, naming the key');
  t.match(stack.logs.find((line) => line.reason === 'too_many_logins')?.msg, /saml\.maxLoginStartsPerClientPerMinute/);

  t.equal((await start('198.51.100.9')).status, 302, 'another address is not affected');
  const head = await browser.request(`http://${HOSTS.jira}/secure/Dashboard.jspa`, { method: 'HEAD', headers: { ...HTML, 'x-forwarded-for': '192.0.2.7' } });
  t.equal(head.status, 429, 'a HEAD navigation, which is redirected to the IdP at once, counts too');
  const page = await browser.request(`http://${HOSTS.jira}/browse/DEMO-1`, { headers: { ...HTML, 'x-forwarded-for': '192.0.2.7' } });
  t.equal(page.status, 200, 'the login-start page itself costs nothing and is not counted');

  nowMs += 2_000;
  t.equal((await start('192.0.2.7')).status, 302, 'one start a second comes back (60 a minute)');
});
