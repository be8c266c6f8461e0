/**
 * The forward-auth endpoint as an edge proxy calls it (raw HTTP, the headers nginx / Traefik / Caddy send): the same
 * decisions as the standalone proxy, delivered as 200 + X-SSO-Cookie / 401 + X-SSO-Login / 302 / 401 / 403.
 */
import { request } from 'node:http';
import t from 'tap';
import { findCookieValues } from '../../../src/policy/cookie-header.js';
import { HTML, loginAs } from '../../support/saml-login.js';
import { HOSTS, startStack, type Stack } from '../../support/stack.js';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
}

function ask(stack: Stack, headers: Record<string, string>, query = ''): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: stack.proxyPort, path: `/_sso/auth${query}`, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** What nginx's auth_request subrequest carries for a request to `host` + `uri` (the client's own headers included). */
const nginx = (host: string, uri: string, client: Record<string, string> = {}, method = 'GET'): Record<string, string> => ({
  ...client,
  host,
  'x-original-uri': uri,
  'x-original-method': method,
  'x-forwarded-for': '192.0.2.10',
  'x-forwarded-proto': 'https',
});

const TRUSTED = { trustedProxies: ['127.0.0.1/32'] };

t.test('only a trusted edge proxy may ask', async (t) => {
  const stack = await startStack(t);
  const answer = await ask(stack, nginx(HOSTS.jira, '/browse/DEMO-1', HTML));
  t.equal(answer.status, 403);
  t.ok(stack.logs.some((line) => line.reason === 'forward_auth_untrusted'), 'logged, naming trustedProxies');
});

t.test('a browser without a session: 401 naming the login start (nginx), or the 302 itself (Traefik, Caddy)', async (t) => {
  const stack = await startStack(t, { config: TRUSTED });
  const answer = await ask(stack, nginx(HOSTS.jira, '/browse/DEMO-1?focusedCommentId=7', HTML));
  t.equal(answer.status, 401);
  t.equal(answer.headers['x-sso-login'], `/_sso/login?return=${encodeURIComponent(`http://${HOSTS.jira}/browse/DEMO-1?focusedCommentId=7`)}`);
  const spoofed = await ask(stack, { ...nginx(HOSTS.jira, '/browse/DEMO-1', HTML), 'x-forwarded-host': HOSTS.confluence });
  t.equal(spoofed.headers['x-sso-login'], `/_sso/login?return=${encodeURIComponent(`http://${HOSTS.jira}/browse/DEMO-1`)}`, 'through nginx (X-Original-URI) only Host names the app: a client-sent X-Forwarded-Host is ignored');
  const traefik = await ask(
    stack,
    { ...HTML, host: 'sso.internal:8080', 'x-forwarded-host': HOSTS.jira, 'x-forwarded-uri': '/browse/DEMO-1', 'x-forwarded-method': 'GET', 'x-forwarded-for': '192.0.2.10' },
    '?redirect=1',
  );
  t.equal(traefik.status, 302, 'routed by X-Forwarded-Host');
  t.match(traefik.headers.location, new RegExp(`^http://${HOSTS.jira.replaceAll('.', '\\.')}/_sso/login\\?return=`), 'absolute, on the app host (Traefik resolves a relative one against its auth address)');
  t.equal(stack.echo.requests.length + stack.crowd.calls.filter((call) => call.path.startsWith('/session/')).length, 0, 'nothing asked of Crowd or any app');
});

t.test('a valid session: 200 with exactly one, valid, Crowd cookie and the user; stale copies removed', async (t) => {
  const stack = await startStack(t, { config: TRUSTED });
  const token = await loginAs(stack, stack.browser(), HOSTS.echo);
  const answer = await ask(stack, nginx(HOSTS.echo, '/browse/DEMO-1', { ...HTML, cookie: `crowd.token_key=; JSESSIONID=j1; crowd.token_key=stale; crowd.token_key=${token}` }));
  t.equal(answer.status, 200);
  t.equal(answer.headers['x-sso-user'], 'alice');
  const cookie = String(answer.headers['x-sso-cookie']);
  t.same(findCookieValues(cookie, 'crowd.token_key'), [token], 'one Crowd cookie, the valid one');
  t.match(cookie, /JSESSIONID=j1/, 'the other cookies stay');
  const traefik = await ask(stack, { ...HTML, cookie: `crowd.token_key=stale; crowd.token_key=${token}`, host: 'sso.internal', 'x-forwarded-host': HOSTS.echo, 'x-forwarded-uri': '/x', 'x-forwarded-method': 'GET' }, '?redirect=1');
  t.equal(traefik.headers.cookie, `crowd.token_key=${token}`, 'with ?redirect=1 also as Cookie, which Traefik can copy in place of the client\'s');
});

t.test("credentials paths: the client's own credentials, no Crowd cookie; non-browsers get the app's challenge", async (t) => {
  const stack = await startStack(t, { config: TRUSTED, apps: { echo: { preset: 'bitbucket' } } });
  const token = await loginAs(stack, stack.browser(), HOSTS.jira);
  const basic = await ask(stack, nginx(HOSTS.echo, '/rest/api/1.0/projects', { accept: 'application/json', authorization: 'Basic eDp4', cookie: `crowd.token_key=${token}` }));
  t.equal(basic.status, 200);
  t.equal(basic.headers['x-sso-cookie'], '', 'no Crowd cookie rides along with Basic credentials');
  t.notOk(basic.headers['x-sso-user']);
  const git = await ask(stack, nginx(HOSTS.echo, '/scm/x/repo.git/info/refs?service=git-upload-pack', { 'user-agent': 'git/2.39.5' }));
  t.equal(git.status, 401);
  t.equal(git.headers['www-authenticate'], 'Basic realm="Atlassian Bitbucket"', 'so git asks its credential helper');
  t.notOk(git.headers['x-sso-login'], 'and is not sent to the IdP');
});

t.test('refusals: no original URI → 400, unknown host → 403; observe mode lets everything through untouched', async (t) => {
  const stack = await startStack(t, { config: TRUSTED, apps: { confluence: { mode: 'observe' } } });
  t.equal((await ask(stack, { host: HOSTS.jira })).status, 400);
  t.equal((await ask(stack, nginx('nope.sso.test', '/'))).status, 403);
  const observed = await ask(stack, nginx(HOSTS.confluence, '/display/X', { ...HTML, cookie: 'crowd.token_key=whatever; a=1' }));
  t.equal(observed.status, 200);
  t.equal(observed.headers['x-sso-cookie'], 'crowd.token_key=whatever; a=1');
});
