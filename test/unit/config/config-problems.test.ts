import { join } from 'node:path';
import t from 'tap';
import { demoKeyFiles, loadFrom, minimalConfig, withChanges } from './config-fixture.js';

const twoApps = {
  apps: [
    { name: 'jira', hosts: ['jira.example.com'], upstream: 'http://127.0.0.1:8080' },
    { name: 'confluence', hosts: ['confluence.example.com'], upstream: 'http://127.0.0.1:8090' },
  ],
};

/** Each case: changes to the minimal configuration → exactly the problems an administrator reads. `DIR` = the config's directory. */
const cases: { name: string; changes: Record<string, unknown>; problems: string[] }[] = [
  { name: 'a typo in a key', changes: { 'apps[0].upstreamm': 'http://x', 'apps[0].upstream': undefined }, problems: ['apps[0]: missing required key "upstream"', 'apps[0]: unknown key "upstreamm" (did you mean "upstream"?)'] },
  { name: 'an unknown top-level key', changes: { metrics: true }, problems: ['unknown key "metrics"'] },
  { name: 'a missing required section key', changes: { 'crowd.baseUrl': undefined }, problems: ['crowd: missing required key "baseUrl"'] },
  { name: 'a missing required top-level key', changes: { saml: undefined }, problems: ['missing required key "saml"'] },
  { name: 'a number below its minimum', changes: { 'crowd.timeoutMs': 0 }, problems: ['crowd.timeoutMs: must be at least 100'] },
  { name: 'a number above its maximum', changes: { 'saml.clockSkewSeconds': 301 }, problems: ['saml.clockSkewSeconds: must be at most 300'] },
  { name: 'no Crowd validations at all per client', changes: { 'crowd.maxValidationsInFlightPerClient': 0 }, problems: ['crowd.maxValidationsInFlightPerClient: must be at least 1'] },
  { name: 'Crowd validations per client without a bound', changes: { 'crowd.maxValidationsPerClientPerSecond': 2_000_000 }, problems: ['crowd.maxValidationsPerClientPerSecond: must be at most 1000000'] },
  { name: 'a string where a number belongs', changes: { 'listen.port': '8080' }, problems: ['listen.port: must be a whole number'] },
  { name: 'a value outside an enum', changes: { logLevel: 'verbose' }, problems: ['logLevel: must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent"'] },
  { name: 'no apps', changes: { apps: [] }, problems: ['apps: must list at least one entry'] },
  { name: 'an upstream that is not a URL', changes: { 'apps[0].upstream': 'jira-node:8080' }, problems: ['apps[0].upstream: must start with http:// or https://'] },
  { name: 'an upstream without scheme', changes: { 'apps[0].upstream': '127.0.0.1 8080' }, problems: ['apps[0].upstream: not a URL'] },
  { name: 'a Crowd URL with another scheme', changes: { 'crowd.baseUrl': 'ldap://crowd.example.com' }, problems: ['crowd.baseUrl: must start with http:// or https://'] },
  { name: 'an invalid app name', changes: { 'apps[0].name': 'Jira' }, problems: ['apps[0].name: must be lower-case letters, digits, "-" or "_", starting with a letter or digit, e.g. "jira"'] },
  { name: 'a host with a scheme', changes: { 'apps[0].hosts': ['https://jira.example.com'] }, problems: ['apps[0].hosts[0]: must be a host name with an optional port and nothing else, e.g. "jira.example.com" or "jira.localhost:8080"'] },
  { name: 'a host with an impossible port', changes: { 'apps[0].hosts': ['jira.example.com:70000'] }, problems: ['apps[0].hosts[0]: the port must be between 1 and 65535'] },
  { name: 'the same app name twice', changes: { ...twoApps, 'apps[1].name': 'jira' }, problems: ['apps[1].name: "jira" is already the name of apps[0]'] },
  { name: 'the same host in two apps, differing in case and default port', changes: { ...twoApps, 'apps[1].hosts': ['JIRA.example.com:80'] }, problems: ['apps[1].hosts[0]: "jira.example.com" is already routed to app "jira"; each host belongs to one app'] },
  { name: 'a start path that leaves the host', changes: { 'apps[0].startPath': '//evil.example.com/' }, problems: ['apps[0].startPath: must be a path starting with a single "/", e.g. "/" or "/secure/Dashboard.jspa"'] },
  { name: 'a path prefix with a trailing slash', changes: { pathPrefix: '/_sso/' }, problems: ['pathPrefix: must start with "/", must not end with "/" and may contain only letters, digits and "._~-" between slashes, e.g. "/_sso"'] },
  { name: 'a path prefix without leading slash', changes: { pathPrefix: '_sso' }, problems: ['pathPrefix: must start with "/", must not end with "/" and may contain only letters, digits and "._~-" between slashes, e.g. "/_sso"'] },
  { name: 'trusted proxies that are not addresses', changes: { trustedProxies: ['10.0.0.0/8', '10.0.0.0/33', 'lb.internal', 'fd00::/8', '192.168.1.7'] }, problems: ['trustedProxies[1]: not an IP address or CIDR range, e.g. "10.0.0.5" or "10.0.0.0/8"', 'trustedProxies[2]: not an IP address or CIDR range, e.g. "10.0.0.5" or "10.0.0.0/8"'] },
  {
    name: 'SSO-only sessions with several workers and no shared store',
    changes: { 'saml.requireSsoSession': true, workers: 2 },
    problems: ["saml.requireSsoSession: needs store.redis when workers is 2: each worker would know only its own logins, send the others' users back to the IdP, and loop. Set store.redis, or workers to 1"],
  },
  { name: 'SSO-only sessions must be true or false', changes: { 'saml.requireSsoSession': 'yes' }, problems: ['saml.requireSsoSession: must be true or false'] },
  { name: 'a short state secret', changes: { stateSecret: 'too-short' }, problems: ['stateSecret: must be at least 32 characters long; generate one with: openssl rand -base64 48'] },
  { name: 'a secret of the wrong type', changes: { 'crowd.applicationPassword': 42 }, problems: ['crowd.applicationPassword: must be a non-empty string ("${VAR}" and "${VAR:-default}" read the environment) or {"file": "<path>"}'] },
  { name: 'a misspelt secret file key', changes: { 'crowd.applicationPassword': { fil: 'password.txt' } }, problems: ['crowd.applicationPassword: missing required key "file"', 'crowd.applicationPassword: unknown key "fil" (did you mean "file"?)'] },
  { name: 'as-upstream factors without proxy address', changes: { 'crowd.validationFactors': { mode: 'as-upstream' } }, problems: ['crowd.validationFactors: missing required key "proxyAddress"'] },
  { name: 'as-upstream factors with a host name', changes: { 'crowd.validationFactors': { mode: 'as-upstream', proxyAddress: 'proxy.internal' } }, problems: ['crowd.validationFactors.proxyAddress: not an IP address; use the address the applications see the proxy connect from'] },
  { name: 'a proxy address with client-ip factors', changes: { 'crowd.validationFactors': { mode: 'client-ip', proxyAddress: '10.0.0.5' } }, problems: ['crowd.validationFactors.proxyAddress: only used when "mode" is "as-upstream"'] },
  { name: 'an unknown validation factor mode', changes: { 'crowd.validationFactors': { mode: 'remote' } }, problems: ['crowd.validationFactors.mode: must be one of "client-ip", "as-upstream"'] },
  { name: 'an attribute username strategy without attribute', changes: { 'identity.username': [{ from: 'attribute' }] }, problems: ['identity.username[0]: missing required key "attribute"'] },
  { name: 'the old saml.username key', changes: { 'saml.username': { from: 'nameId' } }, problems: ['saml: unknown key "username"'] },
  { name: 'an empty IdP', changes: { 'saml.idp': {} }, problems: ['saml.idp: set one of: "metadataUrl"; "metadataFile"; or "entityId", "ssoUrl" and "signingCerts"'] },
  { name: 'two IdP sources', changes: { 'saml.idp.metadataFile': 'idp.xml' }, problems: ['saml.idp.metadataFile: cannot be combined with "metadataUrl"'] },
  { name: 'a manual IdP without certificates', changes: { 'saml.idp': { entityId: 'https://idp.example.com', ssoUrl: 'https://idp.example.com/sso' } }, problems: ['saml.idp: missing required key "signingCerts"'] },
  { name: 'IdP metadata over plain http', changes: { 'saml.idp.metadataUrl': 'http://idp.example.com/metadata' }, problems: ['saml.idp.metadataUrl: must use https: the metadata carries the certificates the proxy trusts (http is accepted for localhost only)'] },
  { name: 'an SP entity ID that is not a URI', changes: { 'saml.spEntityId': 'jira sso' }, problems: ['saml.spEntityId: not a URL'] },
  { name: 'signing without key and certificate', changes: { 'saml.signAuthnRequests': true }, problems: ['saml.spPrivateKey: missing; signing AuthnRequests (saml.signAuthnRequests) needs the SP private key', 'saml.spCertificateFile: missing; AuthnRequests are signed, and the IdP verifies them with this certificate from the SP metadata'] },
  { name: 'an SP key without its certificate', changes: { 'saml.spPrivateKey': { file: 'sp.key' } }, problems: ['saml.spCertificateFile: missing; AuthnRequests are signed, and the IdP verifies them with this certificate from the SP metadata'] },
  { name: 'an SP key that is a certificate', changes: { 'saml.spPrivateKey': { file: 'sp.crt' }, 'saml.spCertificateFile': 'sp.crt' }, problems: ['saml.spPrivateKey: not a PEM private key (expected "-----BEGIN PRIVATE KEY-----" or "-----BEGIN RSA PRIVATE KEY-----")'] },
  { name: 'an SP certificate of another key', changes: { 'saml.spPrivateKey': { file: 'sp.key' }, 'saml.spCertificateFile': 'idp.crt' }, problems: ['saml.spCertificateFile: does not belong to saml.spPrivateKey'] },
  { name: 'a TLS key of another certificate', changes: { 'listen.tls': { certFile: 'sp.crt', keyFile: 'idp.key' } }, problems: ['listen.tls.keyFile: does not belong to the certificate in listen.tls.certFile'] },
  { name: 'a redirect listener without TLS', changes: { 'listen.httpRedirect': { port: 80 } }, problems: ['listen.httpRedirect: redirects to HTTPS served by this proxy, so it needs listen.tls; behind a load balancer that terminates TLS, let the load balancer redirect'] },
  { name: 'a redirect listener on the HTTPS port', changes: { listen: { port: 8443, tls: { certFile: 'sp.crt', keyFile: 'sp.key' }, httpRedirect: { port: 8443 } } }, problems: ['listen.httpRedirect.port: must differ from listen.port (8443), which serves HTTPS'] },
  { name: 'a redirect listener with publicScheme http', changes: { publicScheme: 'http', listen: { tls: { certFile: 'sp.crt', keyFile: 'sp.key' }, httpRedirect: { port: 80 } } }, problems: ['listen.httpRedirect: redirects browsers to https, but publicScheme is "http"; remove one of the two'] },
  { name: 'HSTS without TLS', changes: { 'listen.hsts': { maxAgeSeconds: 600 } }, problems: ['listen.hsts: browsers honour Strict-Transport-Security only over HTTPS, so it needs listen.tls; behind a load balancer that terminates TLS, set the header there'] },
  { name: 'a metadata refresh without metadata URL', changes: { 'saml.idp': { metadataFile: 'idp.crt' }, 'saml.metadataRefreshSeconds': 600 }, problems: ['saml.metadataRefreshSeconds: only used with saml.idp.metadataUrl (a metadata file or manual settings are read again on reload)'] },
  { name: 'a metadata refresh more often than every minute', changes: { 'saml.metadataRefreshSeconds': 10 }, problems: ['saml.metadataRefreshSeconds: must be at least 60'] },
  { name: 'a negative number of workers', changes: { workers: -1 }, problems: ['workers: must be at least 0'] },
  { name: 'a missing TLS certificate file', changes: { 'listen.tls': { certFile: 'missing.pem', keyFile: 'sp.key' } }, problems: ['listen.tls.certFile: cannot read file "DIR/missing.pem": it does not exist'] },
  { name: 'a missing metadata file', changes: { 'saml.idp': { metadataFile: 'idp-metadata.xml' } }, problems: ['saml.idp.metadataFile: cannot read file "DIR/idp-metadata.xml": it does not exist'] },
  { name: 'an IdP certificate that is not PEM', changes: { 'saml.idp': { entityId: 'https://idp.example.com', ssoUrl: 'https://idp.example.com/sso', signingCerts: [{ file: 'idp.crt' }, 'MIIBfake'] } }, problems: ['saml.idp.signingCerts[1]: not a PEM certificate (expected "-----BEGIN CERTIFICATE-----")'] },
  {
    name: 'several problems at once, schema and semantic together',
    changes: { 'crowd.timeoutMs': -1, 'apps[0].upstream': 'ftp://jira', stateSecret: 'short', trustedProxies: ['proxy'], 'saml.forceAuthn': 'yes' },
    problems: [
      'crowd.timeoutMs: must be at least 100',
      'saml.forceAuthn: must be true or false',
      'trustedProxies[0]: not an IP address or CIDR range, e.g. "10.0.0.5" or "10.0.0.0/8"',
      'apps[0].upstream: must start with http:// or https://',
      'stateSecret: must be at least 32 characters long; generate one with: openssl rand -base64 48',
    ],
  },
];

t.test('each kind of configuration problem is reported with its key path and a plain message', async (t) => {
  const dir = t.testdir(demoKeyFiles());
  for (const c of cases) {
    const outcome = await loadFrom(dir, withChanges(minimalConfig(), c.changes));
    t.same(outcome.problems, c.problems.map((p) => p.replaceAll('DIR/', join(dir, '/'))), c.name);
  }
});

t.test('the minimal configuration and a full manual IdP with matching SP keys have no problems', async (t) => {
  const dir = t.testdir(demoKeyFiles());
  t.same((await loadFrom(dir, minimalConfig())).problems, []);
  const full = withChanges(minimalConfig(), {
    'listen.tls': { certFile: 'sp.crt', keyFile: 'sp.key' },
    'saml.idp': { entityId: 'https://idp.example.com', ssoUrl: 'https://idp.example.com/sso', sloUrl: 'https://idp.example.com/slo', signingCerts: [{ file: 'idp.crt' }] },
    'saml.spPrivateKey': { file: 'sp.key' },
    'saml.spCertificateFile': 'sp.crt',
    'crowd.validationFactors': { mode: 'as-upstream', proxyAddress: '10.0.0.5' },
    identity: { username: [{ from: 'attribute', attribute: 'uid', transforms: ['lowercase'] }, { from: 'nameId', lookup: 'email' }] },
    trustedProxies: ['10.0.0.0/8', '::1'],
  });
  t.same((await loadFrom(dir, full)).problems, []);
});

t.test('a secret value never appears in a problem', async (t) => {
  const dir = t.testdir(demoKeyFiles());
  const secret = 'pa55-${not valid';
  const outcome = await loadFrom(dir, withChanges(minimalConfig(), { 'crowd.applicationPassword': secret, stateSecret: 'tiny-secret-value' }));
  t.equal(outcome.problems.length, 2);
  for (const problem of outcome.problems) {
    t.notMatch(problem, 'pa55');
    t.notMatch(problem, 'tiny-secret-value');
  }
});
