/**
 * The bypass corpus (test/fixtures/bypass-corpus.json) against a real proxy in front of an echo upstream that records
 * what it received. The app is the echo upstream with the jira preset and an apps[].access restriction, so there is
 * a valid Crowd session the proxy must refuse. Every check is on what the upstream RECEIVED:
 * - an anonymous forward (no valid, allowed session) reaches only what the app serves publicly, read the way Tomcat and
 *   Jira's URL rewrite read the path, or carries the client's own credentials to a credentials path;
 * - the Cookie header has at most one Crowd cookie, the allowed user's valid one, and never another in any form;
 * - forwarding and identity headers are the proxy's own.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import t from 'tap';
import { CROWD_MENTION, effectivePaths, FORGED_HEADERS, isAnonymousAllowed, rawRequest } from '../../support/bypass-oracle.js';
import { loginAs } from '../../support/saml-login.js';
import { HOSTS, startStack } from '../../support/stack.js';

interface Corpus {
  readonly targets: readonly string[];
  readonly headerSets: readonly { readonly about: string; readonly lines: readonly string[] }[];
  readonly headerSetTargets: readonly string[];
  readonly cookies: readonly string[];
  readonly cookieTargets: readonly string[];
  /** Sent last, to the app's logout URL (which ends the sessions it names). */
  readonly logoutCookies: readonly string[];
}

const corpus = JSON.parse(readFileSync(new URL('../../fixtures/bypass-corpus.json', import.meta.url), 'utf8')) as Corpus;

t.test('the bypass corpus: nothing reaches the app that the proxy did not vet', async (t) => {
  const stack = await startStack(t, {
    crowd: {
      users: [
        { name: 'alice', password: 'x', email: 'alice@example.com', firstName: 'Alice', lastName: 'Adams', displayName: 'Alice Adams' },
        { name: 'dave', password: 'x', email: 'dave@example.com', firstName: 'Dave', lastName: 'Davis', displayName: 'Dave Davis', groups: ['echo-users'] },
      ],
    },
    apps: { echo: { preset: 'jira', access: { crowdGroups: ['echo-users'] } } },
  });
  // dave may use the app; alice has a valid Crowd session (signed in through confluence) that the app's access refuses.
  const valid = await loginAs(stack, stack.browser(), HOSTS.echo, 'dave');
  const refused = await loginAs(stack, stack.browser(), HOSTS.confluence, 'alice');
  const tokens = { valid, refused, junk: 'junkJunkJunkJunkJunk0' };
  const fill = (text: string): string => text.replace(/\{(valid|refused|junk)\}/g, (_, name: keyof typeof tokens) => tokens[name]);

  let id = 0;
  const violations: string[] = [];
  let forwarded = 0;
  let sent = 0;

  async function probe(requestLine: string, lines: readonly string[], about: string): Promise<void> {
    const [method, target] = requestLine.split(' ') as [string, string];
    const corpusId = `c${++id}`;
    const head = [`${method} ${target} HTTP/1.1`, `Host: ${HOSTS.echo}`, 'Accept: text/html', `X-Corpus-Id: ${corpusId}`, ...lines.map(fill)];
    const hasBodyFraming = lines.some((line) => /^(content-length|transfer-encoding):/i.test(line));
    // A second Connection header is joined to one the corpus sends (`authorization, close`): it still names the same headers.
    head.push('Connection: close');
    const request = `${head.join('\r\n')}\r\n${hasBodyFraming ? '' : 'Content-Length: 0\r\n'}\r\n${hasBodyFraming ? '0\r\n\r\n' : ''}`;
    sent += 1;
    const answer = await rawRequest(stack.proxyPort, request);
    const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 'none';
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

  for (const target of corpus.targets) {
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

  t.same(violations, [], `${sent} requests sent, ${forwarded} reached the app: none without a vetted session or the client's own credentials`);
  t.ok(forwarded > 100, 'the corpus does reach the app (the checks above are not vacuous)');
  const signedIn = stack.echo.requests.filter((r) => r.headers.cookie?.includes(`crowd.token_key=${valid}`)).length;
  t.ok(signedIn > 20, 'the allowed user is forwarded with the session');
});

t.test('the oracle reads paths the way the app does', async (t) => {
  t.same(effectivePaths('/s/x/_/browse/X-1'), ['/browse/X-1']);
  t.ok(effectivePaths('/s/x/_/download/resources/a/%5f/secure').includes('/secure'), 'decoding before the rewrite');
  t.ok(effectivePaths('/s/x/_/images/..;/..;/browse/X-1').includes('/browse/X-1'), 'path parameters and dot segments');
  t.ok(effectivePaths('/S/x/_/browse').includes('/browse'), 'the rewrite ignores case');
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

t.test('WebSocket handshakes: the same vetting as requests, on what the app received', async (t) => {
  const stack = await startStack(t, {
    crowd: { users: [{ name: 'alice', password: 'x', email: 'alice@example.com', firstName: 'Alice', lastName: 'Adams', displayName: 'Alice Adams' }] },
    apps: { echo: { preset: 'jira', access: { crowdGroups: ['echo-users'] } } },
  });
  const refused = await loginAs(stack, stack.browser(), HOSTS.confluence, 'alice');
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
  ];
  for (const [target, extra, about] of cases) {
    const status = await rawHandshake(stack.proxyPort, handshake(target, [...extra, `X-Corpus-Id: ${about}`]));
    const received = stack.echo.requests.filter((r) => r.headers['x-corpus-id'] === about);
    for (const r of received) {
      t.notMatch(r.headers.cookie ?? '', /crowd\.token_key/i, `${about}: no Crowd cookie reached the app (${status})`);
      t.ok(isAnonymousAllowed(r), `${about}: ${r.url} may be reached without a session (${status})`);
    }
    if (received.length === 0) t.match(status, /^HTTP\/1\.1 (401|403)/, `${about}: refused (${status})`);
  }
});
