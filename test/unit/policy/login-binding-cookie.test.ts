import t from 'tap';
import { loginBindingCookieShape, serializeLoginBinding, serializeLoginBindingClear } from '../../../src/policy/login-binding-cookie.js';

t.test('Secure and SameSite=None on https and on localhost names, which browsers treat as secure', async (t) => {
  t.equal(loginBindingCookieShape('https', 'jira.example.com', '/_sso', 600_000).secure, true);
  t.equal(loginBindingCookieShape('http', 'jira.localhost:8080', '/_sso', 600_000).secure, true);
  t.equal(loginBindingCookieShape('http', 'localhost:8080', '/_sso', 600_000).secure, true);
  t.equal(loginBindingCookieShape('http', 'jira.example.com', '/_sso', 600_000).secure, false);
  t.equal(loginBindingCookieShape('http', 'jira.localhost.example.com', '/_sso', 600_000).secure, false);
});

t.test('set with the login timeout on the ACS path only, cleared the same way', async (t) => {
  const shape = loginBindingCookieShape('https', 'jira.example.com', '/auth', 90_500);
  t.equal(serializeLoginBinding(shape, 'abc', 'n0nce'), 'crowd_sso_proxy_login_abc=n0nce; Path=/auth/saml/acs; Max-Age=91; HttpOnly; Secure; SameSite=None');
  t.equal(serializeLoginBindingClear(shape, 'abc'), 'crowd_sso_proxy_login_abc=; Path=/auth/saml/acs; Max-Age=0; HttpOnly; Secure; SameSite=None');
});
