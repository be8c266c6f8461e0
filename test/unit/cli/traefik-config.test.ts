/**
 * The Traefik dynamic configuration `renderTraefikConfig` writes for a loaded two-app configuration, read back with a
 * small parser for exactly the YAML it writes (maps by indentation, lists, double-quoted strings, numbers, booleans,
 * `{}`): routers, middlewares, services and transports, and the values it refuses to write. No Traefik runs here (it
 * is not a Debian package): what Traefik itself makes of the file is not checked.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { APP_ROUTER_PRIORITY, renderTraefikConfig, SSO_ROUTER_PRIORITY } from '../../../src/cli/traefik-config.js';
import { loadConfig } from '../../../src/config/load-config.js';
import type { RuntimeConfig } from '../../../src/config/runtime-config.js';
import { ConfigError } from '../../../src/errors.js';
import { testAppConfig } from '../../support/app-config.js';

const TWO_APPS = {
  stateSecret: 'test-state-secret-0123456789-abcdef',
  trustedProxies: ['127.0.0.1/32'],
  apps: [
    { name: 'jira', preset: 'jira', hosts: ['jira.example.com', 'issues.example.com:8443'], upstream: 'http://10.0.0.5:8080' },
    { name: 'confluence', preset: 'confluence', hosts: ['wiki.example.com'], upstream: 'https://confluence.internal:8443/wiki/', upstreamTimeoutSeconds: 120 },
  ],
  crowd: { baseUrl: 'https://crowd.example.com/crowd', applicationName: 'crowd-sso-proxy', applicationPassword: 'app-secret' },
  saml: { spEntityId: 'https://jira.example.com/_sso/saml/metadata', idp: { metadataUrl: 'https://idp.example.com/metadata' } },
};

const SSO = { ssoUpstream: 'http://127.0.0.1:8080' };

async function load(t: Test, raw: Record<string, unknown> = TWO_APPS): Promise<RuntimeConfig> {
  const file = join(t.testdir(), 'proxy.config.json');
  await writeFile(file, JSON.stringify(raw));
  return loadConfig(file, { env: {} });
}

type Yaml = string | number | boolean | Yaml[] | { [key: string]: Yaml };

/**
 * Parses the YAML subset the generator writes, strictly: two-space indentation, `key: scalar`, `key:` followed by a
 * deeper map or by `- scalar` / `- key: scalar` items, scalars as JSON strings, integers, true/false or `{}`.
 * Anything else throws, naming the line, so the test fails on YAML the generator should not write.
 */
function parseYaml(text: string): Yaml {
  const lines = text
    .split('\n')
    .map((raw, index) => ({ raw, number: index + 1 }))
    .filter(({ raw }) => raw.trim() !== '' && !/^\s*#/.test(raw));
  let at = 0;
  const indentOf = (raw: string): number => /^ */.exec(raw)?.[0].length ?? 0;
  const fail = (message: string): never => {
    const line = lines[at];
    throw new Error(`line ${line?.number ?? 'end'}: ${message}: ${JSON.stringify(line?.raw)}`);
  };
  const scalar = (source: string): Yaml => {
    if (source.startsWith('"')) return JSON.parse(source) as string;
    if (/^-?\d+$/.test(source)) return Number(source);
    if (source === 'true' || source === 'false') return source === 'true';
    if (source === '{}') return {};
    return fail(`not a scalar the generator writes (${source})`);
  };
  const KEY = /^([A-Za-z0-9_.-]+): ?(.*)$/;
  function block(indent: number): Yaml {
    const first = lines[at];
    if (first === undefined) return fail('a block was expected');
    if (indentOf(first.raw) !== indent) return fail(`indentation ${indent} was expected`);
    if (first.raw.trimStart().startsWith('- ')) {
      const items: Yaml[] = [];
      while (lines[at] !== undefined && indentOf((lines[at] as { raw: string }).raw) === indent && (lines[at] as { raw: string }).raw.trimStart().startsWith('- ')) {
        const item = (lines[at] as { raw: string }).raw.trimStart().slice(2);
        const pair = KEY.exec(item);
        items.push(pair !== null && !item.startsWith('"') ? { [pair[1] as string]: scalar(pair[2] as string) } : scalar(item));
        at += 1;
      }
      return items;
    }
    const map: Record<string, Yaml> = {};
    while (lines[at] !== undefined && indentOf((lines[at] as { raw: string }).raw) === indent) {
      const pair = KEY.exec((lines[at] as { raw: string }).raw.slice(indent));
      if (pair === null) return fail('not "key: value"');
      const key = pair[1] as string;
      if (key in map) return fail(`duplicate key ${key}`);
      at += 1;
      if (pair[2] === '') {
        const next = lines[at];
        if (next === undefined || indentOf(next.raw) <= indent) return fail(`"${key}:" without a value`);
        map[key] = block(indentOf(next.raw) === indent + 2 ? indent + 2 : fail('indent by two'));
      } else {
        map[key] = scalar(pair[2] as string);
      }
    }
    if (lines[at] !== undefined && indentOf((lines[at] as { raw: string }).raw) > indent) return fail('unexpected indentation');
    return map;
  }
  const doc = block(0);
  if (at < lines.length) fail('trailing content');
  return doc;
}

/** The value at a path of keys, failing clearly when it is not there. */
function get(doc: Yaml, ...keys: string[]): Yaml {
  let node: Yaml = doc;
  for (const key of keys) {
    if (typeof node !== 'object' || Array.isArray(node) || !(key in node)) throw new Error(`no ${keys.join('.')}`);
    node = node[key] as Yaml;
  }
  return node;
}

t.test('the parser refuses what it does not know (so the next tests do read the generated text)', async (t) => {
  t.throws(() => parseYaml('a:\n   b: 1\n'), /indent by two/);
  t.throws(() => parseYaml('a: plain\n'), /not a scalar/);
  t.throws(() => parseYaml('a: 1\na: 2\n'), /duplicate key a/);
  t.same(parseYaml('# c\na:\n  - "x"\n  - url: "u"\nb: {}\nc: false\n'), { a: ['x', { url: 'u' }], b: {}, c: false });
});

t.test('per app: a router for its hosts behind the forward-auth middleware, and one for the proxy\'s paths above it', async (t) => {
  const doc = parseYaml(renderTraefikConfig(await load(t), SSO));
  t.same(Object.keys(get(doc)), ['http']);
  const routers = get(doc, 'http', 'routers') as Record<string, Yaml>;
  t.same(Object.keys(routers), ['crowd-sso-app-0-jira-sso', 'crowd-sso-app-0-jira', 'crowd-sso-app-1-confluence-sso', 'crowd-sso-app-1-confluence']);

  t.same(routers['crowd-sso-app-0-jira'], {
    rule: 'Host(`jira.example.com`) || Host(`issues.example.com`)',
    priority: APP_ROUTER_PRIORITY,
    middlewares: ['crowd-sso-clear-client-headers', 'crowd-sso-auth'],
    service: 'crowd-sso-app-0-jira',
  }, 'the hosts without their port (Traefik\'s Host matcher compares host names); clearing runs before the proxy is asked');
  t.same(routers['crowd-sso-app-0-jira-sso'], {
    rule:
      '(Host(`jira.example.com`) || Host(`issues.example.com`)) && (Path(`/_sso`) || PathPrefix(`/_sso/`) || Path(`/secure/Logout!default.jspa`) || ' +
      'Path(`/secure/Logout.jspa`) || Path(`/logout`) || Path(`/login.jsp`) || Path(`/rest/tsv/1.0/authenticate`))',
    priority: SSO_ROUTER_PRIORITY,
    middlewares: ['crowd-sso-clear-client-headers'],
    service: 'crowd-sso-proxy',
  }, 'the prefix, everything below it, and Jira\'s logout and login paths go to the proxy, without forward-auth, client headers cleared');
  t.ok(SSO_ROUTER_PRIORITY > APP_ROUTER_PRIORITY);
  t.same(get(routers, 'crowd-sso-app-1-confluence-sso', 'rule'), 'Host(`wiki.example.com`) && (Path(`/_sso`) || PathPrefix(`/_sso/`) || Path(`/logout.action`) || Path(`/login.action`) || Path(`/dologin.action`) || Path(`/rest/tsv/1.0/authenticate`))');
  t.same(get(routers, 'crowd-sso-app-1-confluence', 'middlewares'), ['crowd-sso-clear-client-headers', 'crowd-sso-auth', 'crowd-sso-app-1-confluence-prefix'], 'the path prefix after the proxy was asked about the public URI');
  for (const router of Object.values(routers)) t.notOk('tls' in (router as object) || 'entryPoints' in (router as object), 'http: all entry points, no tls');
});

t.test('the forwardAuth middleware, the header clearing, the path prefix', async (t) => {
  const doc = parseYaml(renderTraefikConfig(await load(t), SSO));
  t.same(get(doc, 'http', 'middlewares', 'crowd-sso-auth'), {
    forwardAuth: { address: 'http://127.0.0.1:8080/_sso/auth?redirect=1', trustForwardHeader: false, authResponseHeaders: ['Cookie', 'X-SSO-Cookie', 'X-SSO-User'] },
  });
  const cleared = get(doc, 'http', 'middlewares', 'crowd-sso-clear-client-headers', 'headers', 'customRequestHeaders') as Record<string, Yaml>;
  for (const name of ['X-Sso-User', 'X-Sso-Cookie', 'X-Sso-Login', 'X-Remote-User', 'Forwarded', 'X-Original-Uri', 'X-Forwarded-Uri', 'X-Http-Method-Override', 'X-Forwarded-User']) {
    t.equal(cleared[name], '', `${name} from the client removed`);
  }
  for (const name of Object.keys(cleared)) t.equal(cleared[name], '', `${name}: only removals`);
  for (const name of ['Cookie', 'Authorization', 'X-Forwarded-For', 'X-Forwarded-Proto', 'X-Forwarded-Host', 'X-Real-Ip']) {
    t.notOk(name in cleared, `${name} is left alone (the client's credentials, or set by Traefik itself)`);
  }
  t.same(get(doc, 'http', 'middlewares', 'crowd-sso-app-1-confluence-prefix'), { addPrefix: { prefix: '/wiki' } });
  t.notOk('crowd-sso-app-0-jira-prefix' in (get(doc, 'http', 'middlewares') as object));
});

t.test('services for the proxy and each app upstream, with the app\'s timeout', async (t) => {
  const doc = parseYaml(renderTraefikConfig(await load(t), { ssoUpstream: 'http://sso.internal:8080/' }));
  t.same(get(doc, 'http', 'services'), {
    'crowd-sso-proxy': { loadBalancer: { passHostHeader: true, servers: [{ url: 'http://sso.internal:8080' }] } },
    'crowd-sso-app-0-jira': { loadBalancer: { passHostHeader: true, serversTransport: 'crowd-sso-app-0-jira', servers: [{ url: 'http://10.0.0.5:8080' }] } },
    'crowd-sso-app-1-confluence': { loadBalancer: { passHostHeader: true, serversTransport: 'crowd-sso-app-1-confluence', servers: [{ url: 'https://confluence.internal:8443' }] } },
  });
  t.same(get(doc, 'http', 'serversTransports'), {
    'crowd-sso-app-0-jira': { forwardingTimeouts: { responseHeaderTimeout: '300s' } },
    'crowd-sso-app-1-confluence': { forwardingTimeouts: { responseHeaderTimeout: '120s' } },
  });
  t.equal(get(doc, 'http', 'middlewares', 'crowd-sso-auth', 'forwardAuth', 'address'), 'http://sso.internal:8080/_sso/auth?redirect=1');
});

t.test('how the session reaches the app through Traefik is said in the file', async (t) => {
  const text = renderTraefikConfig(await load(t), SSO);
  t.match(text, /answers the vetted Cookie header\n# \(exactly one valid Crowd cookie, or none\) as Cookie too/);
  t.match(text, /traefik\/traefik#11313/);
  t.match(text, /absolute URL on the app host/);
});

t.test('https, entry points, tls', async (t) => {
  const config = await load(t, { ...TWO_APPS, publicScheme: 'https' });
  const routers = get(parseYaml(renderTraefikConfig(config, { ...SSO, entryPoints: ['websecure'] })), 'http', 'routers') as Record<string, Yaml>;
  for (const router of Object.values(routers)) {
    t.same(get(router, 'entryPoints'), ['websecure']);
    t.same(get(router, 'tls'), {}, 'https: Traefik terminates TLS');
  }
  const plain = get(parseYaml(renderTraefikConfig(config, { ...SSO, tls: false })), 'http', 'routers') as Record<string, Yaml>;
  for (const router of Object.values(plain)) t.notOk('tls' in (router as object), 'tls: false when TLS ends in front of Traefik');
});

t.test('a custom pathPrefix', async (t) => {
  const doc = parseYaml(renderTraefikConfig(await load(t, { ...TWO_APPS, pathPrefix: '/_crowd-sso' }), SSO));
  t.equal(get(doc, 'http', 'middlewares', 'crowd-sso-auth', 'forwardAuth', 'address'), 'http://127.0.0.1:8080/_crowd-sso/auth?redirect=1');
  t.match(get(doc, 'http', 'routers', 'crowd-sso-app-1-confluence-sso', 'rule'), 'Path(`/_crowd-sso`) || PathPrefix(`/_crowd-sso/`)');
});

t.test('values Traefik would read as syntax are refused, naming the value', async (t) => {
  const config = await load(t);
  const withApp = (fields: Partial<Parameters<typeof testAppConfig>[0]>): RuntimeConfig => ({
    ...config,
    apps: [testAppConfig({ name: 'jira', hosts: ['jira.example.com'], upstream: new URL('http://10.0.0.5:8080'), ...fields })],
  });
  const refusal = (render: () => unknown, path: string, message: RegExp): void => {
    try {
      render();
      t.fail(`${path}: not refused`);
    } catch (error) {
      t.type(error, ConfigError);
      t.equal((error as ConfigError).problems[0]?.path, path);
      t.match((error as ConfigError).problems[0]?.message, message, path);
    }
  };
  refusal(() => renderTraefikConfig(withApp({ hosts: ['jira.example.com`) || Host(`evil'] }), SSO), 'apps[0].hosts[0]', /cannot be written into a Traefik configuration: it contains "`"/);
  refusal(() => renderTraefikConfig(withApp({ hosts: ['ok.example.com', 'a b'] }), SSO), 'apps[0].hosts[1]', /contains U\+0020/);
  refusal(() => renderTraefikConfig(withApp({ logoutPaths: ['/log"out'] }), SSO), 'apps[0].logoutPaths[0]', /contains """/);
  refusal(() => renderTraefikConfig(withApp({ loginPaths: ['/a%20b'] }), SSO), 'apps[0].loginPaths[0]', /decoded/);
  refusal(() => renderTraefikConfig(withApp({ upstream: new URL('http://u:p@10.0.0.5:8080') }), SSO), 'apps[0].upstream', /credentials/);
  refusal(() => renderTraefikConfig(withApp({}), { ssoUpstream: 'not a url' }), '--sso-upstream', /not a URL/);
  refusal(() => renderTraefikConfig(withApp({}), { ssoUpstream: 'http://127.0.0.1:8080/x' }), '--sso-upstream', /must not have a path/);
  refusal(() => renderTraefikConfig(withApp({}), { ...SSO, entryPoints: ['web secure'] }), '--entry-points[0]', /not an entry point name/);
  refusal(
    () => renderTraefikConfig({ ...config, apps: [testAppConfig({ name: 'a', hosts: ['x.example.com:8080'], upstream: new URL('http://10.0.0.5') }), testAppConfig({ name: 'b', hosts: ['x.example.com:8090'], upstream: new URL('http://10.0.0.6') })] }, SSO),
    'apps[1].hosts',
    /also a host of app "a"/,
  );
});
