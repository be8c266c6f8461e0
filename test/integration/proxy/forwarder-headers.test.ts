/**
 * The forwarder's header hygiene: what reaches the app (Host, path, forwarding headers, no hop-by-hop headers, the Cookie
 * the proxy chose) and what reaches the client (the response head as the app sent it).
 */
import t from 'tap';
import { CLIENT_HEADERS_REMOVED } from '../../../src/proxy/upstream-headers.js';
import { CLIENT_IP, JIRA_HOST, appFor, startFront, upstreamFor, send, echoed, rawExchange, rawUpstream } from './forwarder-setup.js';

t.test('the request reaches the app with its Host, path and query, and with only the proxy forwarding headers', async (t) => {
  const upstream = await upstreamFor(t);
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url)]);
  const spoofed = Object.fromEntries(CLIENT_HEADERS_REMOVED.map((name) => [name, 'spoofed']));
  const reply = await send(front.port, '/secure/Dashboard.jspa?selectPageId=1', { headers: { ...spoofed, 'x-request-id': 'spoofed', 'user-agent': 'tap' } });

  t.equal(reply.status, 200);
  const seen = echoed(reply);
  t.equal(seen.url, '/secure/Dashboard.jspa?selectPageId=1');
  t.equal(seen.headers.host, JIRA_HOST, 'Host is preserved');
  t.equal(seen.headers['x-forwarded-for'], CLIENT_IP, 'a single X-Forwarded-For entry: the resolved client');
  t.equal(seen.headers['x-forwarded-proto'], 'https');
  t.equal(seen.headers['x-forwarded-host'], JIRA_HOST);
  t.match(seen.headers['x-request-id'], /^req-\d+$/);
  t.equal(seen.headers['user-agent'], 'tap', 'ordinary headers pass');
  const ours = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);
  for (const name of CLIENT_HEADERS_REMOVED.filter((header) => !ours.has(header))) {
    t.equal(seen.headers[name], undefined, `client-supplied ${name} is dropped`);
  }
});

t.test('upstream paths are prefixed with the path of apps[].upstream', async (t) => {
  const upstream = await upstreamFor(t);
  const front = await startFront(t, [appFor('jira', JIRA_HOST, `${upstream.url}/jira/`)]);
  t.equal(echoed(await send(front.port, '/browse/ABC-1?x=%20y')).url, '/jira/browse/ABC-1?x=%20y');
});

t.test('hop-by-hop headers and headers named in Connection do not reach the app', async (t) => {
  const upstream = await upstreamFor(t);
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url)]);
  const seen = echoed(
    await send(front.port, '/', {
      headers: {
        connection: 'keep-alive, X-Hop, X-Forwarded-For',
        'x-hop': 'secret',
        'keep-alive': 'timeout=5',
        upgrade: 'h2c',
        'proxy-authorization': 'Basic dXNlcjpwYXNz',
        te: 'trailers',
      },
    }),
  );
  for (const name of ['x-hop', 'keep-alive', 'upgrade', 'proxy-authorization', 'te']) t.equal(seen.headers[name], undefined, `${name} is dropped`);
  t.not(seen.headers.connection, 'keep-alive, X-Hop, X-Forwarded-For');
  t.equal(seen.headers['x-forwarded-for'], CLIENT_IP, 'a header named in Connection is still set by the proxy');
});

t.test('the Cookie header is replaced when the context says so, and untouched otherwise', async (t) => {
  const upstream = await upstreamFor(t);
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url)]);
  const original = 'crowd.token_key=stale; JSESSIONID=abc';

  front.cookieHeader = undefined;
  t.equal(echoed(await send(front.port, '/', { headers: { cookie: original } })).headers.cookie, original, 'undefined: untouched');

  front.cookieHeader = 'crowd.token_key=fresh; JSESSIONID=abc';
  t.equal(echoed(await send(front.port, '/', { headers: { cookie: original } })).headers.cookie, 'crowd.token_key=fresh; JSESSIONID=abc', 'a string replaces it');
  t.equal(echoed(await send(front.port, '/')).headers.cookie, 'crowd.token_key=fresh; JSESSIONID=abc', 'also when the client sent none');

  front.cookieHeader = '';
  t.equal(echoed(await send(front.port, '/', { headers: { cookie: original } })).headers.cookie, undefined, 'empty string: no Cookie header');
});

t.test('the response head reaches the client as the app sent it, but for its own Connection and Keep-Alive', async (t) => {
  const head =
    'HTTP/1.1 299 Custom Reason\r\nX-Custom-Case: kept\r\nWWW-Authenticate: Negotiate\r\nWWW-Authenticate: Basic realm="jira"\r\n' +
    'Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\n';
  const front = await startFront(t, [appFor('jira', JIRA_HOST, await rawUpstream(t, head, 'ok'))]);
  const response = await rawExchange(front.port, `GET / HTTP/1.1\r\nHost: ${JIRA_HOST}\r\nConnection: close\r\n\r\n`);
  const [statusLine, ...lines] = (response.split('\r\n\r\n')[0] as string).split('\r\n');
  t.equal(statusLine, 'HTTP/1.1 299 Custom Reason', 'status code and reason phrase');
  t.ok(lines.includes('X-Custom-Case: kept'), 'header names keep their case');
  t.same(lines.filter((line) => line.startsWith('WWW-Authenticate:')), ['WWW-Authenticate: Negotiate', 'WWW-Authenticate: Basic realm="jira"'], 'a repeated header stays two lines, in order (joined with a comma, the challenges would no longer parse)');
  t.same(lines.filter((line) => line.startsWith('Set-Cookie:')), ['Set-Cookie: a=1', 'Set-Cookie: b=2']);
  t.same(lines.filter((line) => /^(connection|keep-alive):/i.test(line)), ['connection: close'], "the client asked to close: the app's keep-alive is not passed on");
  t.match(response, /\r\n\r\nok$/);
});
