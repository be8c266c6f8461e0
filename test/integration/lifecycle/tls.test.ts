/**
 * The proxy serving HTTPS itself: certificate and key from listen.tls (read again on reload), the plain-HTTP
 * listener that redirects to https, HSTS on every HTTPS response, and X-Forwarded-Proto believed only from
 * trusted proxies.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync, readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import t from 'tap';
import { loadConfig } from '../../../src/config/load-config.js';
import { createCrowdClient } from '../../../src/crowd/crowd-client.js';
import { loginAs } from '../../support/saml-login.js';
import { HOSTS, startStack, type Stack } from '../../support/stack.js';
import { createTestCertificate, type TestCertificate } from '../../support/test-certificate.js';

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** SHA-256 fingerprint of the certificate the server presented (HTTPS only). */
  readonly certificate: string | undefined;
}

function get(options: { tls: boolean; port: number; host: string; path: string; headers?: Record<string, string>; ca?: string }): Promise<Answer> {
  const make = options.tls ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = make(
      {
        host: '127.0.0.1',
        port: options.port,
        path: options.path,
        headers: { ...options.headers, host: options.host },
        ...(options.tls ? { servername: options.host.replace(/:\d+$/, ''), ca: options.ca, agent: false } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        const certificate = options.tls ? (res.socket as TLSSocket).getPeerCertificate().fingerprint256 : undefined;
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), certificate }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function crowdToken(stack: Stack): Promise<string> {
  const crowd = createCrowdClient(stack.config.crowd);
  try {
    return (await crowd.createSession('alice', [{ name: 'remote_address', value: '127.0.0.1' }])).token;
  } finally {
    await crowd.close();
  }
}

t.before(() => {
  execFileSync('openssl', ['version'], { stdio: 'ignore' });
});

t.test('HTTPS with a redirect listener and HSTS', async (t) => {
  const dir = t.testdir();
  const hosts = Object.values(HOSTS);
  const first = createTestCertificate(dir, 'first', hosts);
  const stack = await startStack(t, {
    config: {
      publicScheme: 'https',
      listen: {
        host: '127.0.0.1',
        port: 0,
        tls: { certFile: first.certFile, keyFile: first.keyFile },
        httpRedirect: { host: '127.0.0.1', port: 0 },
        hsts: { maxAgeSeconds: 600, includeSubDomains: true },
      },
    },
  });
  const redirectPort = stack.proxy.redirectAddress()?.port ?? 0;
  const https = (cert: TestCertificate, path: string, headers: Record<string, string> = {}): Promise<Answer> =>
    get({ tls: true, port: stack.proxyPort, host: HOSTS.echo, path, headers, ca: cert.certPem });

  await t.test('HTTPS answers with the configured certificate, and HSTS on the proxy’s own responses', async (t) => {
    const health = await https(first, '/_sso/health');
    t.equal(health.status, 200);
    t.equal(health.certificate, first.fingerprintSha256);
    t.equal(health.headers['strict-transport-security'], 'max-age=600; includeSubDomains');
    const login = await https(first, `/_sso/login?return=${encodeURIComponent(`https://${HOSTS.echo}/issues`)}`, { accept: 'text/html', 'sec-fetch-mode': 'navigate' });
    t.equal(login.status, 302);
    t.match(login.headers.location, /^http:\/\/127\.0\.0\.1:\d+\/sso\?/, 'to the IdP');
    t.equal(login.headers['strict-transport-security'], 'max-age=600; includeSubDomains');
  });

  await t.test('proxied responses carry HSTS too, and the upstream learns the request came over https', async (t) => {
    const cookie = `crowd.token_key=${await crowdToken(stack)}`;
    const proxied = await https(first, '/rest/api/2/myself', { cookie, 'x-forwarded-proto': 'http' });
    t.equal(proxied.status, 200);
    t.equal(proxied.headers['strict-transport-security'], 'max-age=600; includeSubDomains');
    t.equal((JSON.parse(proxied.body) as { headers: IncomingHttpHeaders }).headers['x-forwarded-proto'], 'https', 'the client cannot say otherwise');
  });

  await t.test('the HTTP listener redirects configured hosts to https with 308, answers health, refuses other hosts', async (t) => {
    const plain = (host: string, path: string): Promise<Answer> => get({ tls: false, port: redirectPort, host, path });
    const moved = await plain(`${HOSTS.jira}:${redirectPort}`, '/browse/DEMO-1?focus=comments');
    t.equal(moved.status, 308);
    t.equal(moved.headers.location, `https://${HOSTS.jira}/browse/DEMO-1?focus=comments`);
    t.equal(moved.headers['strict-transport-security'], undefined, 'no HSTS over plain HTTP');
    t.equal((await plain(HOSTS.confluence, '/')).headers.location, `https://${HOSTS.confluence}/`);
    t.equal((await plain(HOSTS.jira, '/_sso/health')).status, 200);
    const other = await plain('evil.example', '/');
    t.equal(other.status, 421, 'never a redirect to a host the proxy does not serve');
    t.equal(other.headers.location, undefined);
  });

  await t.test('a reload reads the certificate and key again', async (t) => {
    const second = createTestCertificate(dir, 'second', hosts);
    const raw = JSON.parse(readFileSync(stack.configPath, 'utf8')) as { listen: { tls: object } };
    raw.listen.tls = { certFile: second.certFile, keyFile: second.keyFile };
    writeFileSync(stack.configPath, JSON.stringify(raw));
    await stack.proxy.reload(await loadConfig(stack.configPath, { env: {} }));
    t.equal((await https(second, '/_sso/health')).certificate, second.fingerprintSha256, 'new connections get the new certificate');
  });
});

t.test('listen.httpRedirect and listen.hsts need listen.tls', async (t) => {
  const dir = t.testdir();
  const file = `${dir}/proxy.config.json`;
  writeFileSync(
    file,
    JSON.stringify({
      listen: { httpRedirect: { port: 8081 }, hsts: {} },
      stateSecret: 'tls-test-state-secret-0123456789-abcdefgh',
      apps: [{ name: 'jira', hosts: ['jira.example.com'], upstream: 'http://127.0.0.1:8080' }],
      crowd: { baseUrl: 'https://crowd.example.com/crowd', applicationName: 'proxy', applicationPassword: 'pw' },
      saml: { spEntityId: 'https://jira.example.com/sp', idp: { metadataUrl: 'https://idp.example.com/metadata' }, metadataRefreshSeconds: 600 },
    }),
  );
  const problems = await loadConfig(file, { env: {} }).then(
    () => [],
    (error: { problems: { path: string }[] }) => error.problems.map((p) => p.path),
  );
  t.same(problems.sort(), ['listen.hsts', 'listen.httpRedirect']);
});

t.test('X-Forwarded-Proto is believed only from trustedProxies', async (t) => {
  for (const [trustedProxies, expected] of [
    [[], 'http'],
    [['127.0.0.1'], 'https'],
  ] as const) {
    const stack = await startStack(t, { config: { trustedProxies } });
    const browser = stack.browser();
    await loginAs(stack, browser, HOSTS.echo);
    const res = await browser.request(`http://${HOSTS.echo}/who`, { headers: { 'x-forwarded-proto': 'https' } });
    t.equal(res.status, 200);
    t.equal((JSON.parse(res.body) as { headers: IncomingHttpHeaders }).headers['x-forwarded-proto'], expected, `trustedProxies ${JSON.stringify(trustedProxies)}`);
    await stack.close();
  }
});
