import { request } from 'undici';
import type { RuntimeConfig } from '../../config/runtime-config.js';
import { createCrowdClient } from '../../crowd/crowd-client.js';
import { createServiceProvider } from '../../saml/service-provider.js';
import type { CheckItem } from './check-item.js';
import { checkStore } from './check-store.js';


export interface CheckReport {
  readonly ok: boolean;
  readonly items: readonly CheckItem[];
}

const UPSTREAM_CHECK_TIMEOUT_MS = 5_000;
const DAY_MS = 86_400_000;
/** Certificates closer to expiry than this are reported as a problem. */
const CERT_WARNING_DAYS = 30;

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

async function checkCrowd(config: RuntimeConfig): Promise<CheckItem[]> {
  const crowd = createCrowdClient(config.crowd);
  try {
    const cookie = await crowd.getCookieConfig();
    return [
      { name: 'crowd', ok: true, detail: `application "${config.crowd.applicationName}" authenticated at ${config.crowd.baseUrl}` },
      {
        name: 'crowd cookie',
        ok: true,
        detail: `name ${cookie.name}, domain ${cookie.domain ?? '(host-only)'}, secure ${cookie.secure ? 'yes' : 'no'}${
          cookie.secure && config.publicScheme !== 'https' ? ' — WARNING: Secure cookie but publicScheme is http; browsers will not send it' : ''
        }`,
      },
    ];
  } catch (error) {
    return [{ name: 'crowd', ok: false, detail: message(error) }];
  } finally {
    await crowd.close();
  }
}

/** apps[].crowdApplication: the app's own Crowd application authenticates (its name and password are right). */
async function checkAppCrowdApplication(config: RuntimeConfig, app: RuntimeConfig['apps'][number]): Promise<CheckItem[]> {
  if (app.crowdApplication === undefined) return [];
  const name = `crowd application ${app.name}`;
  const crowd = createCrowdClient({ ...config.crowd, applicationName: app.crowdApplication.name, applicationPassword: app.crowdApplication.password });
  try {
    await crowd.checkConnection();
    return [{ name, ok: true, detail: `application "${app.crowdApplication.name}" (apps[].crowdApplication) authenticated at ${config.crowd.baseUrl}` }];
  } catch (error) {
    return [{ name, ok: false, detail: `apps[].crowdApplication of "${app.name}": ${message(error)}` }];
  } finally {
    await crowd.close();
  }
}

async function checkIdp(config: RuntimeConfig, now: number): Promise<CheckItem[]> {
  try {
    const sp = await createServiceProvider(config.saml);
    await sp.close();
    const certs = sp.idp.signingCerts.map((cert) => ({ ...cert, days: Math.floor((cert.notAfter.getTime() - now) / DAY_MS) }));
    const soonest = Math.min(...certs.map((cert) => cert.days));
    return [
      { name: 'idp', ok: true, detail: `entity ${sp.idp.entityId}, SSO ${sp.idp.ssoUrl}${sp.idp.sloUrl ? `, SLO ${sp.idp.sloUrl}` : ''}` },
      {
        name: 'idp certificates',
        ok: soonest >= 0,
        detail: certs.map((cert) => `${cert.subject} expires in ${cert.days} days${cert.days < CERT_WARNING_DAYS ? ' (renew soon!)' : ''}`).join('; '),
      },
    ];
  } catch (error) {
    return [{ name: 'idp', ok: false, detail: message(error) }];
  }
}

async function checkUpstream(app: RuntimeConfig['apps'][number]): Promise<CheckItem> {
  try {
    const response = await request(app.upstream, {
      method: 'GET',
      headers: { host: app.hosts[0] as string },
      headersTimeout: UPSTREAM_CHECK_TIMEOUT_MS,
      bodyTimeout: UPSTREAM_CHECK_TIMEOUT_MS,
      signal: AbortSignal.timeout(UPSTREAM_CHECK_TIMEOUT_MS),
    });
    await response.body.dump();
    return { name: `upstream ${app.name}`, ok: true, detail: `${app.upstream.href} answered HTTP ${response.statusCode}` };
  } catch (error) {
    return { name: `upstream ${app.name}`, ok: false, detail: `${app.upstream.href} did not answer (apps[].upstream): ${message(error)}` };
  }
}

/** Everything `check` verifies: Crowd auth + cookie config, each apps[].crowdApplication, IdP metadata and certificates, each upstream answering, store.redis working. */
export async function runCheck(config: RuntimeConfig, now: number = Date.now()): Promise<CheckReport> {
  const configItem: CheckItem = {
    name: 'config',
    ok: true,
    detail: `${config.apps.length} app(s): ${config.apps.map((app) => `${app.name} (${app.hosts.join(', ')})`).join('; ')}`,
  };
  const [crowd, appApplications, idp, upstreams, store] = await Promise.all([
    checkCrowd(config),
    Promise.all(config.apps.map((app) => checkAppCrowdApplication(config, app))),
    checkIdp(config, now),
    Promise.all(config.apps.map(checkUpstream)),
    checkStore(config, now),
  ]);
  const items = [configItem, ...crowd, ...appApplications.flat(), ...idp, ...upstreams, ...store];
  return { ok: items.every((item) => item.ok), items };
}
