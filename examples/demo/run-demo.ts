/**
 * `npm run demo`: a demo Crowd, a demo SAML IdP, a Jira-like and a Confluence-like app, and crowd-sso-proxy in
 * front of them, configured by the committed proxy.config.json. Everything listens on 127.0.0.1 only.
 */
import { dirname, join } from 'node:path';
import { createApp } from '../../src/app.js';
import { isConfigError, loadConfig } from '../../src/config/load-config.js';
import { startDemoApp } from './demo-app.js';
import { startDemoIdp, type DemoUser } from './demo-idp.js';
import { demoKeysDir, readDemoKeyPair } from './demo-keys.js';
import { startFakeCrowd } from './fake-crowd.js';

const PORTS = { crowd: 8095, idp: 9090, jira: 8101, confluence: 8102 } as const;

const USERS: readonly (DemoUser & { readonly active: boolean })[] = [
  { username: 'alice', password: 'alice', email: 'alice@example.com', firstName: 'Alice', lastName: 'Adams', groups: ['jira-software-users', 'confluence-users'], active: true },
  { username: 'bob', password: 'bob', email: 'bob@example.com', firstName: 'Bob', lastName: 'Brown', groups: ['confluence-users'], active: true },
  { username: 'carol', password: 'carol', email: 'carol@example.com', firstName: 'Carol', lastName: 'Clark', groups: [], active: false },
  { username: 'dave', password: 'dave', email: 'dave@example.com', firstName: 'Dave', lastName: 'Davis (IdP only)', groups: [], active: true },
];

const APPS = {
  'crowd-sso-proxy': 'demo-password',
  jira: 'jira-demo-password',
  confluence: 'confluence-demo-password',
} as const;

async function main(): Promise<void> {
  const projectDir = dirname(dirname(dirname(demoKeysDir())));
  const configPath = process.env.CROWD_SSO_PROXY_CONFIG ?? join(projectDir, 'proxy.config.json');

  let config;
  try {
    config = await loadConfig(configPath);
  } catch (error) {
    if (isConfigError(error)) {
      console.error(`crowd-sso-proxy demo: invalid configuration in ${configPath}:`);
      for (const problem of error.problems) console.error(`  - ${problem.path}: ${problem.message}`);
      process.exit(2);
    }
    throw error;
  }

  const crowd = await startFakeCrowd({
    port: PORTS.crowd,
    cookieConfig: { name: 'crowd.token_key', domain: '', secure: false },
    applications: {
      'crowd-sso-proxy': { password: process.env.CROWD_SSO_PROXY_CROWD_PASSWORD ?? APPS['crowd-sso-proxy'], allowGenerateUserTokens: true },
      jira: { password: APPS.jira },
      confluence: { password: APPS.confluence },
    },
    // "dave" exists only at the IdP: signing in as dave shows the no-account page.
    users: USERS.filter((user) => user.username !== 'dave').map((user) => ({
      name: user.username,
      password: user.password,
      active: user.active,
      email: user.email,
      firstName: user.firstName,
      lastName: user.lastName,
      displayName: `${user.firstName} ${user.lastName}`,
      groups: [...(user.groups ?? [])],
    })),
  });
  const idpKeys = readDemoKeyPair('idp');
  const firstHost = config.apps[0]?.hosts[0] ?? 'jira.localhost:8080';
  const idp = await startDemoIdp({
    port: PORTS.idp,
    host: '127.0.0.1',
    keyPem: idpKeys.keyPem,
    certPem: idpKeys.certPem,
    users: USERS,
    // Single logout: the proxy's SLO URL (the first app host's, as in its SP metadata) and its signing certificate.
    sp: { entityId: config.saml.spEntityId, sloUrl: `${config.publicScheme}://${firstHost}${config.pathPrefix}/saml/slo`, certPem: readDemoKeyPair('sp').certPem },
  });
  const jira = await startDemoApp({ title: 'Jira (demo)', crowdBaseUrl: crowd.baseUrl, applicationName: 'jira', applicationPassword: APPS.jira, port: PORTS.jira });
  const confluence = await startDemoApp({
    title: 'Confluence (demo)',
    crowdBaseUrl: crowd.baseUrl,
    applicationName: 'confluence',
    applicationPassword: APPS.confluence,
    port: PORTS.confluence,
  });

  const proxy = await createApp(config, { logLevel: (process.env.LOG_LEVEL as typeof config.logLevel | undefined) ?? 'info' });
  const address = await proxy.listen();
  const port = address.port;

  const hostOf = (name: string): string => config.apps.find((app) => app.name === name)?.hosts[0] ?? `${name}.localhost:${port}`;
  process.stderr.write(`
  crowd-sso-proxy demo is running.

    Jira (demo):        ${config.publicScheme}://${hostOf('jira')}/browse/DEMO-1
    Confluence (demo):  ${config.publicScheme}://${hostOf('confluence')}/display/DEMO/Welcome
    Demo IdP:           ${idp.url}   (metadata: ${idp.metadataUrl})
    Demo Crowd:         ${crowd.baseUrl}/rest/usermanagement/1
    SP metadata:        ${config.publicScheme}://${hostOf('jira')}${config.pathPrefix}/saml/metadata

  Demo users (password = user name):
    alice   Crowd user, active          → signs in to both apps
    bob     Crowd user, active          → signs in
    carol   Crowd user, deactivated     → "account deactivated" page
    dave    IdP only, not in Crowd      → "no account" page

  Open the Jira URL, sign in at the demo IdP, land on DEMO-1 signed in; then open the Confluence URL:
  no second password prompt. "Log out" in either app signs you out of both and of the demo IdP (single
  logout); ${idp.url}/logout does the same from the IdP's side. Ctrl-C stops everything. The proxy's
  JSON log follows.

`);

  const stop = async (): Promise<void> => {
    await proxy.close();
    await Promise.allSettled([crowd.close(), idp.close(), jira.close(), confluence.close()]);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  console.error('crowd-sso-proxy demo failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
