/** Access lines and request ids, as an administrator reads them from the JSON log. */
import { request } from 'node:http';
import t from 'tap';
import { accessLine, waitForLogLine } from '../../support/log-lines.js';
import { HTML, loginAs } from '../../support/saml-login.js';
import { HOSTS, startStack } from '../../support/stack.js';

const ACCESS_FIELDS = ['reqId', 'host', 'app', 'decision', 'status', 'durationMs', 'method', 'path', 'clientIp', 'user'];
const PINO_FIELDS = ['level', 'time', 'pid', 'hostname', 'name', 'msg'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A WebSocket handshake to the proxy; resolves with the status line's code and the X-Request-Id of the answer. */
function upgrade(port: number, host: string): Promise<{ status: number; reqId: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path: '/socket?ticket=query-secret',
      headers: { host, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    req.once('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, reqId: res.headers['x-request-id'] as string | undefined });
    });
    req.once('error', reject);
    req.end();
  });
}

t.test('one access line per request, from the fixed fields, with the id the client got; never a query string', async (t) => {
  const stack = await startStack(t);
  const browser = stack.browser();

  const login = await browser.request(`http://${HOSTS.jira}/browse/DEMO-1?jql=query-secret`, { headers: HTML });
  t.equal(login.status, 200, 'the login-start page');
  const loginId = login.headers['x-request-id'];
  t.match(loginId, UUID, 'the response carries X-Request-Id');
  const loginLine = await accessLine(stack.logs, loginId);
  t.match(loginLine, { host: HOSTS.jira, app: 'jira', decision: 'login', status: 200, method: 'GET', path: '/browse/DEMO-1', clientIp: '127.0.0.1' });
  t.type(loginLine.durationMs, 'number');
  t.ok((loginLine.durationMs as number) >= 0);
  t.same(Object.keys(loginLine).filter((key) => !PINO_FIELDS.includes(key) && !ACCESS_FIELDS.includes(key)), [], 'nothing beyond the fixed fields');

  const api = await browser.request(`http://${HOSTS.jira}/rest/api/2/myself`, { headers: { accept: 'application/json' } });
  t.equal(api.status, 401);
  t.match(await accessLine(stack.logs, api.headers['x-request-id']), { decision: 'deny-401', status: 401, app: 'jira' });

  const start = await browser.request(`http://${HOSTS.jira}/_sso/login?return=${encodeURIComponent(`http://${HOSTS.jira}/secure/query-secret`)}`, { headers: HTML });
  t.match(await accessLine(stack.logs, start.headers['x-request-id']), { decision: 'internal', status: 302, path: '/_sso/login' });

  const unknown = await browser.request('http://nope.sso.test/?q=query-secret', { headers: HTML });
  t.equal(unknown.status, 421);
  const unknownLine = await accessLine(stack.logs, unknown.headers['x-request-id']);
  t.match(unknownLine, { decision: 'error', status: 421, host: 'nope.sso.test' });
  t.notOk('app' in unknownLine, 'no app for an unknown host');

  await loginAs(stack, browser, HOSTS.echo);
  const acsLine = await waitForLogLine(stack.logs, (line) => line.msg === 'request completed' && line.path === '/_sso/saml/acs', 'access line of the ACS post');
  t.match(acsLine, { decision: 'internal', status: 303, method: 'POST', user: 'alice', app: 'echo' });

  const forwarded = await browser.request(`http://${HOSTS.echo}/rest/api/2/search?jql=query-secret`, { headers: { accept: 'application/json' } });
  t.equal(forwarded.status, 200);
  const reqId = forwarded.headers['x-request-id'];
  t.match(reqId, UUID);
  t.equal((JSON.parse(forwarded.body) as { headers: Record<string, string> }).headers['x-request-id'], reqId, 'the upstream saw the same id');
  t.match(await accessLine(stack.logs, reqId), { decision: 'forward', status: 200, user: 'alice', app: 'echo', path: '/rest/api/2/search' });

  const refused = await upgrade(stack.proxyPort, HOSTS.echo);
  t.equal(refused.status, 401);
  t.match(refused.reqId, UUID, 'a refused WebSocket handshake carries the id too');
  t.match(await accessLine(stack.logs, refused.reqId), { decision: 'deny-401', status: 401, method: 'GET', path: '/socket' });

  t.notMatch(JSON.stringify(stack.logs), /query-secret/, 'no query string in any line');
});

t.test("request ids: a trusted proxy's X-Request-Id is kept end to end, a client's is replaced", async (t) => {
  const behindLb = await startStack(t, { config: { trustedProxies: ['127.0.0.1'] } });
  const browser = behindLb.browser();
  await loginAs(behindLb, browser, HOSTS.echo);
  const kept = await browser.request(`http://${HOSTS.echo}/x`, { headers: { accept: 'application/json', 'x-request-id': 'lb-7f3a9c01' } });
  t.equal(kept.headers['x-request-id'], 'lb-7f3a9c01', 'returned to the client');
  t.equal((JSON.parse(kept.body) as { headers: Record<string, string> }).headers['x-request-id'], 'lb-7f3a9c01', 'forwarded upstream');
  t.match(await accessLine(behindLb.logs, 'lb-7f3a9c01'), { decision: 'forward', status: 200 });

  const insane = await browser.request(`http://${HOSTS.echo}/x`, { headers: { accept: 'application/json', 'x-request-id': 'lb 7f3a <script>' } });
  t.match(insane.headers['x-request-id'], UUID, 'an id with unsafe characters is replaced even from a trusted proxy');

  const direct = await startStack(t);
  const client = direct.browser();
  await loginAs(direct, client, HOSTS.echo);
  const replaced = await client.request(`http://${HOSTS.echo}/x`, { headers: { accept: 'application/json', 'x-request-id': 'chosen-by-client' } });
  const id = replaced.headers['x-request-id'];
  t.match(id, UUID, 'a client that is not a trusted proxy never chooses its id');
  t.equal((JSON.parse(replaced.body) as { headers: Record<string, string> }).headers['x-request-id'], id, 'upstream gets the generated one');
  t.match(await accessLine(direct.logs, id), { decision: 'forward' });
  t.notMatch(JSON.stringify(direct.logs), /chosen-by-client/);
});

t.test('accessLog: false writes no access lines; logins and errors are still logged', async (t) => {
  const stack = await startStack(t, { config: { accessLog: false } });
  const browser = stack.browser();
  await loginAs(stack, browser, HOSTS.jira);
  await browser.request('http://nope.sso.test/', { headers: HTML });
  await waitForLogLine(stack.logs, (line) => line.reason === 'unknown_host', 'the error line');
  t.ok(stack.logs.some((line) => line.event === 'login' && line.outcome === 'success'), 'the login line');
  t.notOk(stack.logs.some((line) => line.msg === 'request completed'), 'no access line');
});
