/**
 * Upstream failures (down, slow, reset, truncated, unsendable head) are reported once, with a status for the client,
 * and the proxy keeps serving.
 */
import { request } from 'node:http';
import t from 'tap';
import { UpstreamTimeoutError, UpstreamUnavailableError } from '../../../src/errors.js';
import { JIRA_HOST, appFor, type Reported, startFront, upstreamFor, closedPort, send, rawUpstream } from './forwarder-setup.js';

t.test('an upstream that is down is reported as UpstreamUnavailableError, and the proxy keeps serving', async (t) => {
  const upstream = await upstreamFor(t);
  const downUrl = `http://127.0.0.1:${await closedPort()}`;
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url), appFor('confluence', 'wiki.example.test', downUrl)]);

  const failed = await send(front.port, '/', { headers: { host: 'wiki.example.test' } });
  t.equal(failed.status, 502);
  t.equal(front.errors.length, 1, 'reported exactly once');
  const { error, headersSent } = front.errors[0] as Reported;
  t.ok(error instanceof UpstreamUnavailableError);
  t.equal(error.detail, 'ECONNREFUSED');
  t.match(error.message, 'App "confluence"');
  t.match(error.message, downUrl);
  t.match(error.message, 'apps[].upstream');
  t.equal(headersSent, false);

  t.equal((await send(front.port, '/')).status, 200, 'a working upstream still answers');
  t.equal((await send(front.port, '/', { headers: { host: 'wiki.example.test' } })).status, 502, 'and the down one is tried again');
  t.equal(front.errors.length, 2);
});

t.test('an upstream slower than upstreamTimeoutMs is reported as UpstreamTimeoutError', async (t) => {
  const upstream = await upstreamFor(t);
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url, 200)]);
  const reply = await send(front.port, '/slow?ms=20000');
  t.equal(reply.status, 504);
  t.equal(front.errors.length, 1);
  const { error } = front.errors[0] as Reported;
  t.ok(error instanceof UpstreamTimeoutError);
  t.match(error.message, 'apps[].upstreamTimeoutSeconds');
  t.match(error.message, 'App "jira"');
  t.equal((await send(front.port, '/slow?ms=0')).status, 200, 'the next request is served');
});

t.test('an upstream that resets the connection before answering is reported once', async (t) => {
  const upstream = await upstreamFor(t);
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url)]);
  t.equal((await send(front.port, '/reset')).status, 502);
  t.equal(front.errors.length, 1);
  t.ok(front.errors[0]?.error instanceof UpstreamUnavailableError);
  t.equal(front.errors[0]?.error.detail, 'ECONNRESET');
  t.equal((await send(front.port, '/')).status, 200);
});

t.test('an upstream that dies in the middle of its response: the client response is destroyed, the failure reported once', async (t) => {
  const upstream = await upstreamFor(t);
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url)]);
  const outcome = await new Promise<{ status: number; completed: boolean }>((resolve) => {
    const req = request({ host: '127.0.0.1', port: front.port, path: '/reset-mid-body', headers: { host: JIRA_HOST }, agent: false }, (res) => {
      res.resume();
      res.on('close', () => resolve({ status: res.statusCode ?? 0, completed: res.complete }));
    });
    req.on('error', () => resolve({ status: 0, completed: false }));
    req.end();
  });
  t.same(outcome, { status: 200, completed: false }, 'headers arrived, the body did not complete');
  t.equal(front.errors.length, 1);
  t.equal(front.errors[0]?.headersSent, true);
  t.equal(front.errors[0]?.error.detail, 'response_truncated');
  t.equal((await send(front.port, '/')).status, 200);
});

t.test('a response head that Node parses but cannot send on (status 099) gets a 502, not a crash', async (t) => {
  const head = 'HTTP/1.1 099 Odd\r\nContent-Length: 2\r\n\r\n';
  const front = await startFront(t, [appFor('jira', JIRA_HOST, await rawUpstream(t, head, 'ok'))]);
  t.equal((await send(front.port, '/')).status, 502);
  t.equal(front.errors.length, 1);
  t.equal(front.errors[0]?.error.detail, 'invalid_response');
  t.match(front.errors[0]?.error.message, /cannot be passed on to the client/);
  t.equal((await send(front.port, '/')).status, 502, 'the proxy keeps serving');
});
