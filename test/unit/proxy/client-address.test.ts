import type { IncomingHttpHeaders } from 'node:http';
import t from 'tap';
import { ConfigError } from '../../../src/errors.js';
import { createClientAddressResolver, type ClientAddress } from '../../../src/proxy/client-address.js';

// A load balancer range, one single address, and an IPv6 range.
const TRUSTED = ['10.0.0.0/8', '192.0.2.10', 'fd00:1::/64'];

interface Case {
  readonly scenario: string;
  readonly peer: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly listener?: 'http' | 'https';
  readonly expected: ClientAddress;
}

const CASES: readonly Case[] = [
  {
    scenario: 'an untrusted peer with a spoofed X-Forwarded-For and X-Forwarded-Proto: the peer, headers ignored',
    peer: '198.51.100.20',
    headers: { 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'https' },
    expected: { clientIp: '198.51.100.20', proto: undefined, fromTrustedProxy: false },
  },
  {
    scenario: 'an untrusted peer on a TLS listener: https',
    peer: '198.51.100.20',
    headers: { 'x-forwarded-proto': 'http' },
    listener: 'https',
    expected: { clientIp: '198.51.100.20', proto: 'https', fromTrustedProxy: false },
  },
  {
    scenario: 'a trusted load balancer: the client it names',
    peer: '10.1.1.1',
    headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' },
    expected: { clientIp: '203.0.113.7', proto: 'https', fromTrustedProxy: true },
  },
  {
    scenario: 'a chain: trusted hops are skipped from the right, the first untrusted one wins',
    peer: '10.1.1.1',
    headers: { 'x-forwarded-for': '6.6.6.6, 203.0.113.7, 10.2.2.2, 192.0.2.10' },
    expected: { clientIp: '203.0.113.7', proto: undefined, fromTrustedProxy: true },
  },
  {
    scenario: 'a chain where every hop is trusted: the left-most',
    peer: '10.1.1.1',
    headers: { 'x-forwarded-for': '10.3.3.3,10.2.2.2' },
    expected: { clientIp: '10.3.3.3', proto: undefined, fromTrustedProxy: true },
  },
  {
    scenario: 'a trusted peer without X-Forwarded-For: the peer itself',
    peer: '10.1.1.1',
    headers: {},
    expected: { clientIp: '10.1.1.1', proto: undefined, fromTrustedProxy: true },
  },
  {
    scenario: 'repeated X-Forwarded-For headers (joined by Node) and empty elements',
    peer: '10.1.1.1',
    headers: { 'x-forwarded-for': ' 203.0.113.7 ,, 10.2.2.2 ,' },
    expected: { clientIp: '203.0.113.7', proto: undefined, fromTrustedProxy: true },
  },
  {
    scenario: 'garbage stops the walk: the last good (trusted) address is used, nothing left of it is believed',
    peer: '10.1.1.1',
    headers: { 'x-forwarded-for': '203.0.113.7, <script>, 10.2.2.2' },
    expected: { clientIp: '10.2.2.2', proto: undefined, fromTrustedProxy: true },
  },
  {
    scenario: 'garbage right at the peer: the peer',
    peer: '10.1.1.1',
    headers: { 'x-forwarded-for': '203.0.113.7, unknown' },
    expected: { clientIp: '10.1.1.1', proto: undefined, fromTrustedProxy: true },
  },
  {
    scenario: 'an address with a port is not a bare address: it stops the walk',
    peer: '10.1.1.1',
    headers: { 'x-forwarded-for': '203.0.113.7:51234' },
    expected: { clientIp: '10.1.1.1', proto: undefined, fromTrustedProxy: true },
  },
  {
    scenario: 'a mapped IPv4 socket address is normalised, and matched against IPv4 ranges',
    peer: '::ffff:10.1.1.1',
    headers: { 'x-forwarded-for': '::FFFF:203.0.113.7' },
    expected: { clientIp: '203.0.113.7', proto: undefined, fromTrustedProxy: true },
  },
  {
    scenario: 'an untrusted mapped IPv4 peer comes out as plain IPv4',
    peer: '::ffff:198.51.100.20',
    headers: {},
    expected: { clientIp: '198.51.100.20', proto: undefined, fromTrustedProxy: false },
  },
  {
    scenario: 'IPv6: a trusted IPv6 peer naming an IPv6 client',
    peer: 'fd00:1::5',
    headers: { 'x-forwarded-for': '2001:DB8::7, fd00:1::9', 'x-forwarded-proto': 'HTTPS, http' },
    expected: { clientIp: '2001:db8::7', proto: 'https', fromTrustedProxy: true },
  },
  {
    scenario: 'IPv6: an untrusted IPv6 peer',
    peer: '2001:db8::99',
    headers: { 'x-forwarded-for': '203.0.113.7' },
    expected: { clientIp: '2001:db8::99', proto: undefined, fromTrustedProxy: false },
  },
  {
    scenario: 'X-Forwarded-Proto other than http/https is ignored (listener scheme instead)',
    peer: '10.1.1.1',
    headers: { 'x-forwarded-proto': 'wss' },
    listener: 'https',
    expected: { clientIp: '10.1.1.1', proto: 'https', fromTrustedProxy: true },
  },
  {
    scenario: 'no socket address (the socket closed already)',
    peer: undefined,
    headers: { 'x-forwarded-for': '203.0.113.7' },
    expected: { clientIp: '', proto: undefined, fromTrustedProxy: false },
  },
];

const resolve = createClientAddressResolver(TRUSTED);
for (const c of CASES) {
  t.test(c.scenario, async (t) => {
    t.same(resolve({ remoteAddress: c.peer }, c.headers, c.listener ?? 'http'), c.expected);
  });
}

t.test('one connection, several requests: a trusted proxy\'s headers count for each request, an untrusted peer\'s never', async (t) => {
  const viaLoadBalancer = { remoteAddress: '10.1.1.1' };
  t.equal(resolve(viaLoadBalancer, { 'x-forwarded-for': '203.0.113.7' }, 'http').clientIp, '203.0.113.7');
  t.equal(resolve(viaLoadBalancer, { 'x-forwarded-for': '198.51.100.9' }, 'http').clientIp, '198.51.100.9', 'the next request on the same connection has its own client');
  t.equal(resolve(viaLoadBalancer, { 'x-forwarded-proto': 'https' }, 'http').proto, 'https');
  const browser = { remoteAddress: '::ffff:203.0.113.50' };
  t.same(resolve(browser, {}, 'http'), { clientIp: '203.0.113.50', proto: undefined, fromTrustedProxy: false });
  t.same(resolve(browser, { 'x-forwarded-for': '10.9.9.9', 'x-forwarded-proto': 'https' }, 'http'), { clientIp: '203.0.113.50', proto: undefined, fromTrustedProxy: false });
  const untrusting = createClientAddressResolver([]);
  const peer = { remoteAddress: '10.1.1.1' };
  t.equal(untrusting(peer, { 'x-forwarded-for': '203.0.113.7' }, 'http').clientIp, '10.1.1.1');
  t.equal(resolve(peer, { 'x-forwarded-for': '203.0.113.7' }, 'http').clientIp, '203.0.113.7', 'a reloaded trustedProxies list decides afresh for a connection that outlived the reload');
});

t.test('with no trusted proxies every forwarding header is ignored', async (t) => {
  const untrusting = createClientAddressResolver([]);
  t.same(untrusting({ remoteAddress: '10.1.1.1' }, { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' }, 'http'), {
    clientIp: '10.1.1.1',
    proto: undefined,
    fromTrustedProxy: false,
  });
});

t.test('a mapped IPv4 range in trustedProxies covers the plain IPv4 addresses', async (t) => {
  const mapped = createClientAddressResolver(['::ffff:10.0.0.0/104']);
  t.equal(mapped({ remoteAddress: '10.9.9.9' }, { 'x-forwarded-for': '203.0.113.7' }, 'http').clientIp, '203.0.113.7');
});

t.test('trustedProxies entries that are not addresses or ranges are all reported, with their key path', async (t) => {
  const entries = ['10.0.0.0/8', 'proxy.example.com', '10.0.0.0/33', '2001:db8::/129', ' 10.0.0.1', '10.0.0.0/'];
  const error = t.throws(() => createClientAddressResolver(entries));
  t.ok(error instanceof ConfigError);
  t.same(error instanceof ConfigError ? error.problems.map((problem) => problem.path) : [], [
    'trustedProxies[1]',
    'trustedProxies[2]',
    'trustedProxies[3]',
    'trustedProxies[4]',
    'trustedProxies[5]',
  ]);
  t.match(error instanceof ConfigError ? error.message : '', '"proxy.example.com" is not an IP address or CIDR range');
});
