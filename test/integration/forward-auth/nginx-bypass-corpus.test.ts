/**
 * The bypass corpus (test/fixtures/bypass-corpus.json) through a real nginx in forward-auth mode, with the same
 * oracle as test/integration/e2e/bypass-corpus.test.ts: the app is the echo upstream with the jira preset and an
 * apps[].access restriction, and every check is on what the upstream RECEIVED:
 * - an anonymous forward reaches only what the app serves publicly (read the way Tomcat and Jira's URL rewrite read
 *   the path), or carries the client's own credentials to a credentials path;
 * - the Cookie header has at most one Crowd cookie, the allowed user's valid one;
 * - forwarding and identity headers are nginx's own.
 * nginx itself rejects some malformed requests (400): nothing reaches the app, which passes. Paths that differ
 * between nginx's reading (decoded, dot segments resolved) and the raw URI the app receives are added below.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import t from 'tap';
import { CROWD_MENTION, effectivePaths, FORGED_HEADERS, isAnonymousAllowed } from '../../support/bypass-oracle.js';
import { HOSTS } from '../../support/stack.js';
import { rawRequest, signIn, skip, startNginxStack, statusOf } from './nginx-setup.js';

interface Corpus {
  readonly targets: readonly string[];
  readonly headerSets: readonly { readonly about: string; readonly lines: readonly string[] }[];
  readonly headerSetTargets: readonly string[];
  readonly cookies: readonly string[];
  readonly cookieTargets: readonly string[];
  readonly logoutCookies: readonly string[];
}

const corpus = JSON.parse(readFileSync(new URL('../../fixtures/bypass-corpus.json', import.meta.url), 'utf8')) as Corpus;

/**
 * Where nginx's reading of the path (it matches locations on the decoded, normalized path, but forwards the raw one)
 * and the proxy's may part: the proxy's prefix and the app's logout and login paths, behind dot segments, encoded
 * separators and doubled slashes, in both directions.
 */
const NGINX_TARGETS = [
  'GET /_sso/%2e%2e/browse/X-1',
  'GET /_sso/.%2e/browse/X-1',
  'GET /_sso/..%2fbrowse/X-1',
  'GET /_sso/saml/%2e%2e/%2e%2e/browse/X-1',
  'GET /_sso/./../browse/X-1',
  'GET /_sso//../browse/X-1',
  'GET /_sso/health/..;/../browse/X-1',
  'GET /_sso/auth',
  'GET /_sso//auth',
  'GET /_sso/%61uth',
  'GET /_sso/auth?x=/browse/X-1',
  'GET /%5f%73%73%6f/../browse/X-1',
  'GET /browse/../_sso/health',
  'GET /browse/%2e%2e/_sso/health',
  'GET /secure/../logout',
  'GET /logout/../browse/X-1',
  'GET /logout/%2e%2e/browse/X-1',
  'GET /secure/Logout!default.jspa/../../browse/X-1',
  'GET /secure/Logout%21default.jspa',
  'GET /login.jsp/../browse/X-1',
  'GET /login.jsp%2f..%2fbrowse/X-1',
  'GET /LOGIN.JSP',
  'GET //login.jsp',
  'GET /browse/X-1/../../login.jsp',
  'POST /secure/Logout!default.jspa/../../../rest/api/2/myself',
];

t.test('the bypass corpus through nginx: nothing reaches the app that the proxy did not vet', { skip, timeout: 240_000 }, async (t) => {
  const { stack, nginx, browser } = await startNginxStack(t, {
    crowd: {
      users: [
        { name: 'alice', password: 'x', email: 'alice@example.com', firstName: 'Alice', lastName: 'Adams', displayName: 'Alice Adams' },
        { name: 'dave', password: 'x', email: 'dave@example.com', firstName: 'Dave', lastName: 'Davis', displayName: 'Dave Davis', groups: ['echo-users'] },
      ],
    },
    apps: { echo: { preset: 'jira', access: { crowdGroups: ['echo-users'] } } },
  });
  // dave may use the app; alice has a valid Crowd session (signed in through confluence) that the app's access refuses.
  const valid = await signIn(browser(), `http://${HOSTS.echo}/`, 'dave');
  const refused = await signIn(browser(), `http://${HOSTS.confluence}/`, 'alice');
  const tokens = { valid, refused, junk: 'junkJunkJunkJunkJunk0' };
  const fill = (text: string): string => text.replace(/\{(valid|refused|junk)\}/g, (_, name: keyof typeof tokens) => tokens[name]);

  let id = 0;
  const violations: string[] = [];
  const statuses = new Map<string, number>();
  let forwarded = 0;
  let sent = 0;

  async function probe(requestLine: string, lines: readonly string[], about: string): Promise<void> {
    const [method, target] = requestLine.split(' ') as [string, string];
    const corpusId = `c${++id}`;
    const head = [`${method} ${target} HTTP/1.1`, `Host: ${HOSTS.echo}`, 'Accept: text/html', `X-Corpus-Id: ${corpusId}`, ...lines.map(fill)];
    const hasBodyFraming = lines.some((line) => /^(content-length|transfer-encoding):/i.test(line));
    head.push('Connection: close');
    const request = `${head.join('\r\n')}\r\n${hasBodyFraming ? '' : 'Content-Length: 0\r\n'}\r\n${hasBodyFraming ? '0\r\n\r\n' : ''}`;
    sent += 1;
    const status = statusOf(await rawRequest(nginx.port, request));
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    const received = stack.echo.requests.filter((r) => r.headers['x-corpus-id'] === corpusId);
    const where = `${requestLine} [${about}] → ${status}`;
    if (received.length > 1) violations.push(`${where}: the app received ${received.length} requests (smuggled)`);
    for (const r of received) {
      forwarded += 1;
      const cookie = r.headers.cookie ?? '';
      const mentions = cookie.match(CROWD_MENTION)?.length ?? 0;
      const sessionForwarded = mentions === 1 && new RegExp(`(?:^|;\\s*)crowd\\.token_key=${valid}\\s*(?:;|$)`).test(cookie);
      if (mentions > 1 || (mentions === 1 && !sessionForwarded)) violations.push(`${where}: the app received the cookie header "${cookie}"`);
      if (!sessionForwarded && !isAnonymousAllowed(r)) violations.push(`${where}: reached the app as ${r.method} ${r.url} without a vetted session (effective ${effectivePaths(r.url).join(', ')})`);
      for (const name of FORGED_HEADERS) if (r.headers[name] !== undefined) violations.push(`${where}: the app received ${name}: ${String(r.headers[name])}`);
      if (r.headers['x-forwarded-for'] !== '127.0.0.1') violations.push(`${where}: X-Forwarded-For ${String(r.headers['x-forwarded-for'])}`);
      if (r.headers['x-forwarded-host'] !== HOSTS.echo) violations.push(`${where}: X-Forwarded-Host ${String(r.headers['x-forwarded-host'])}`);
    }
  }

  for (const target of [...corpus.targets, ...NGINX_TARGETS]) {
    await probe(target, [], 'anonymous');
    await probe(target, ['Cookie: crowd.token_key={refused}'], 'refused session');
    await probe(target, ['Authorization: Basic eDp4', 'Cookie: crowd.token_key={refused}'], 'junk credentials and a refused session');
    await probe(target, ['Cookie: crowd.token_key={junk}'], 'junk session');
  }
  for (const set of corpus.headerSets) {
    for (const target of corpus.headerSetTargets) {
      await probe(target, [...set.lines, 'Cookie: crowd.token_key={refused}'], set.about);
      await probe(target, set.lines, `${set.about}, anonymous`);
    }
  }
  for (const cookie of corpus.cookies) {
    for (const target of corpus.cookieTargets) {
      await probe(target, [`Cookie: ${cookie}`], `Cookie: ${cookie}`);
      await probe(target, ['Authorization: Basic eDp4', `Cookie: ${cookie}`], `junk credentials, Cookie: ${cookie}`);
    }
  }
  for (const cookie of corpus.logoutCookies) await probe('POST /secure/Logout!default.jspa', [`Cookie: ${cookie}`], `logout, Cookie: ${cookie}`);

  const summary = [...statuses].map(([status, count]) => `${status}: ${count}`).join(', ');
  t.same(violations, [], `${sent} requests sent (${summary}), ${forwarded} reached the app: none without a vetted session or the client's own credentials`);
  t.ok(forwarded > 100, 'the corpus does reach the app (the checks above are not vacuous)');
  const signedIn = stack.echo.requests.filter((r) => r.headers.cookie?.includes(`crowd.token_key=${valid}`)).length;
  t.ok(signedIn > 20, 'the allowed user is forwarded with the session');
});

/** A WebSocket handshake over a raw socket: the status line of the answer (the socket is then dropped). */
function rawHandshake(port: number, lines: readonly string[]): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const done = (): void => {
      socket.destroy();
      resolve(text.split('\r\n')[0] ?? '');
    };
    socket.setTimeout(5000, done);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.includes('\r\n\r\n')) done();
    });
    socket.on('close', done);
    socket.on('error', () => undefined);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  });
}

t.test('WebSocket handshakes through nginx: the same vetting as requests, on what the app received', { skip, timeout: 60_000 }, async (t) => {
  const { stack, nginx, browser } = await startNginxStack(t, {
    crowd: { users: [{ name: 'alice', password: 'x', email: 'alice@example.com', firstName: 'Alice', lastName: 'Adams', displayName: 'Alice Adams' }] },
    apps: { echo: { preset: 'jira', access: { crowdGroups: ['echo-users'] } } },
  });
  const refused = await signIn(browser(), `http://${HOSTS.confluence}/`, 'alice');
  const handshake = (target: string, extra: readonly string[]): string[] => [
    `GET ${target} HTTP/1.1`,
    `Host: ${HOSTS.echo}`,
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ...extra,
  ];
  const cases: [string, string[], string][] = [
    ['/rest/ws', ['Connection: Upgrade, authorization', 'Authorization: Basic eDp4', `Cookie: crowd.token_key=${refused}`], 'Connection names Authorization'],
    ['/rest/ws', ['Connection: Upgrade', 'Authorization: Basic eDp4', `Cookie: crowd.token_key=${refused}`], 'junk credentials and a refused session'],
    ['/s/x/1/_/download/batch/ws', ['Connection: Upgrade', `Cookie: a=1, crowd.token_key=${refused}; crowd.token_key=${refused}`], 'a public path with a refused session'],
    ['/s/x/_/browse/ws', ['Connection: Upgrade'], 'the /s/ rewrite to a page'],
    ['/browse/ws', ['Connection: Upgrade', `Cookie: crowd.token_key=${refused}`], 'a refused session'],
    ['/_sso/../browse/ws', ['Connection: Upgrade', `Cookie: crowd.token_key=${refused}`], 'below the prefix, normalized away'],
    ['/logout/../browse/ws', ['Connection: Upgrade', `Cookie: crowd.token_key=${refused}`], 'below a logout path, normalized away'],
  ];
  for (const [target, extra, about] of cases) {
    const status = await rawHandshake(nginx.port, handshake(target, [...extra, `X-Corpus-Id: ${about}`]));
    const received = stack.echo.requests.filter((r) => r.headers['x-corpus-id'] === about);
    for (const r of received) {
      t.notMatch(r.headers.cookie ?? '', /crowd\.token_key/i, `${about}: no Crowd cookie reached the app (${status})`);
      t.ok(isAnonymousAllowed(r), `${about}: ${r.url} may be reached without a session (${status})`);
    }
    if (received.length === 0) t.match(status, /^HTTP\/1\.1 (302|400|401|403|404)/, `${about}: refused (${status})`);
  }
});

/**
 * The guard above lives in the generated nginx configuration (`if ($request_uri ~ "^/_sso(?:[/?]|$)")`): the
 * endpoint itself answers 200 with the client's Cookie header for any raw path it routes to one of its own
 * endpoints, so an edge configuration without that guard (hand-written, Traefik, Caddy) forwards
 * `/_sso/../browse/X-1` to the app unvetted. Asked directly, as nginx would ask without the guard.
 */
t.test('the auth endpoint refuses a raw path below the prefix that the edge proxy normalized away', { skip, timeout: 60_000 }, async (t) => {
  const { stack, browser } = await startNginxStack(t, {
    crowd: { users: [{ name: 'alice', password: 'x', email: 'alice@example.com', firstName: 'Alice', lastName: 'Adams', displayName: 'Alice Adams' }] },
    apps: { echo: { preset: 'jira', access: { crowdGroups: ['echo-users'] } } },
  });
  const refused = await signIn(browser(), `http://${HOSTS.confluence}/`, 'alice');
  for (const uri of ['/_sso/../browse/X-1', '/_sso/%2e%2e/browse/X-1', '/_sso/saml/../../browse/X-1']) {
    const answer = await rawRequest(
      stack.proxyPort,
      [
        'GET /_sso/auth HTTP/1.1',
        `Host: ${HOSTS.echo}`,
        `X-Original-URI: ${uri}`,
        'X-Original-Method: GET',
        'X-Forwarded-For: 127.0.0.1',
        'X-Forwarded-Proto: http',
        'Accept: text/html',
        `Cookie: crowd.token_key=${refused}`,
        'Connection: close',
        '',
        '',
      ].join('\r\n'),
    );
    t.equal(statusOf(answer), '403', `${uri}: refused (the product's own endpoints are never reached through the auth request)`);
  }
});
