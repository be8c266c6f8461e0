import t from 'tap';
import { serializeCrowdCookie, serializeCrowdCookieClears } from '../../../src/policy/crowd-cookie.js';

t.test('the cookie is written as the Atlassian apps write it, plus SameSite=Lax', async (t) => {
  t.equal(serializeCrowdCookie({ name: 'crowd.token_key', domain: undefined, secure: false }, 'abc'), 'crowd.token_key=abc; Path=/; HttpOnly; SameSite=Lax');
  t.equal(
    serializeCrowdCookie({ name: 'crowd.token_key', domain: 'example.com', secure: true }, 'abc'),
    'crowd.token_key=abc; Path=/; Domain=example.com; Secure; HttpOnly; SameSite=Lax',
  );
});

t.test('clearing targets the host-only or the domain cookie', async (t) => {
  const cookie = { name: 'crowd.token_key', domain: 'example.com', secure: true };
  t.equal(serializeCrowdCookieClears(cookie, 'host-only'), 'crowd.token_key=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax');
  t.equal(serializeCrowdCookieClears(cookie, 'domain'), 'crowd.token_key=; Path=/; Domain=example.com; Max-Age=0; Secure; HttpOnly; SameSite=Lax');
});
