/**
 * The forwarder's message framing: request bodies whatever the method, no request smuggling through a chunked body,
 * HTTP/1.0 clients.
 */
import t from 'tap';
import { JIRA_HOST, appFor, startFront, upstreamFor, send, echoed, rawExchange, rawUpstream } from './forwarder-setup.js';

t.test('a chunked DELETE body is forwarded as a body, never as a second request', async (t) => {
  const upstream = await upstreamFor(t);
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url)]);
  const smuggled = `GET /smuggled HTTP/1.1\r\nHost: ${JIRA_HOST}\r\nX-Remote-User: admin\r\n\r\n`;
  const raw =
    `DELETE /rest/api/2/issue/ABC-1 HTTP/1.1\r\nHost: ${JIRA_HOST}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
    `${Buffer.byteLength(smuggled).toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`;
  const response = await rawExchange(front.port, raw);
  t.match(response, /^HTTP\/1\.1 200/);
  t.match(response, /\r\nconnection: close\r\n/i, "the client's Connection: close is honoured");
  t.same(
    upstream.requests.map((seen) => [seen.method, seen.url, seen.bodyBytes]),
    [['DELETE', '/rest/api/2/issue/ABC-1', Buffer.byteLength(smuggled)]],
  );
});

t.test('a request body is streamed whatever the method; a request without one is sent without', async (t) => {
  const upstream = await upstreamFor(t);
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url)]);
  const withBody = echoed(await send(front.port, '/search', { method: 'GET', headers: { 'content-type': 'application/json', 'content-length': '23' }, body: Buffer.from('{"jql":"project = ABC"}') }));
  t.equal(withBody.bodyBytes, 23, 'a GET with Content-Length keeps its body');
  const without = echoed(await send(front.port, '/'));
  t.equal(without.bodyBytes, 0);
  t.equal(without.headers['content-length'], undefined, 'no framing header is invented for a request without a body');
  t.equal(without.headers['transfer-encoding'], undefined);
});

t.test('an HTTP/1.0 client gets a chunked answer unchunked, framed by the end of the connection', async (t) => {
  const head = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n';
  const front = await startFront(t, [appFor('jira', JIRA_HOST, await rawUpstream(t, head, '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'))]);
  const response = await rawExchange(front.port, `GET / HTTP/1.0\r\nHost: ${JIRA_HOST}\r\n\r\n`);
  t.notMatch(response, /transfer-encoding/i);
  t.match(response, /\r\n\r\nhello world$/);
});
