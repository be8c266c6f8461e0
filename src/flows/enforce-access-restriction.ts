import type { AccessRestriction } from '../config/runtime-config.js';
import { AccessDeniedError } from '../errors.js';
import { isAccessAllowed } from '../policy/access-restriction.js';
import type { CrowdGroupsPort, SessionStorePort } from './ports.js';

/** The app a request or a login is for, as far as apps[].access is concerned. */
export interface RestrictedApp {
  readonly name: string;
  readonly access: AccessRestriction | undefined;
}

export interface AccessEnforcerDeps {
  readonly sessions: Pick<SessionStorePort, 'get'>;
  readonly crowdGroups: CrowdGroupsPort;
}

/** Enough of a group list for a log line. */
const MAX_LOGGED_GROUPS = 20;

function listed(groups: readonly string[]): string {
  if (groups.length === 0) return 'none';
  const shown = groups.slice(0, MAX_LOGGED_GROUPS).map((group) => `"${group}"`).join(', ');
  return groups.length > MAX_LOGGED_GROUPS ? `${shown} and ${groups.length - MAX_LOGGED_GROUPS} more` : shown;
}

/**
 * apps[].access, enforced at login (on the ACS host's app) and at the gate (a cookie made by a login through
 * another app must not open this one). The gate reads the IdP groups from the session record and the Crowd
 * groups from the cache; only apps with a restriction get here, so unrestricted apps pay nothing.
 */
export function createAccessEnforcer(deps: AccessEnforcerDeps) {
  async function enforce(app: RestrictedApp, access: AccessRestriction, username: string, idpGroups: readonly string[]): Promise<void> {
    const crowdGroups = access.crowdGroups.length > 0 ? await deps.crowdGroups.groups(username) : [];
    if (isAccessAllowed(access, idpGroups, crowdGroups)) return;
    const wanted = [
      access.idpGroups.length > 0 ? `one of the IdP groups ${listed(access.idpGroups)}` : '',
      access.crowdGroups.length > 0 ? `one of the Crowd groups ${listed(access.crowdGroups)}` : '',
    ].filter((part) => part !== '');
    throw new AccessDeniedError(
      `user "${username}" may not use app "${app.name}": its access (apps[].access) requires ${wanted.join(' or ')}; ` +
        `the user has IdP groups ${listed(idpGroups)} and Crowd groups ${access.crowdGroups.length > 0 ? listed(crowdGroups) : '(not checked)'}`,
      {
        detail: 'app_access_restricted',
        publicMessage:
          `You signed in as ${username}, but your account may not use ${app.name}.` +
          (access.contact === undefined ? '' : ` To get access, contact ${access.contact}.`),
      },
    );
  }

  return {
    /** At the ACS: the IdP groups of the assertion just validated; Crowd groups fresh after the group sync. */
    async atLogin(app: RestrictedApp, username: string, idpGroups: readonly string[]): Promise<void> {
      if (app.access === undefined) return;
      deps.crowdGroups.forget(username);
      await enforce(app, app.access, username, idpGroups);
    },

    /** At the gate, for a valid Crowd session: the IdP groups recorded at its login (none when it was not ours). */
    async atGate(app: RestrictedApp, username: string, token: string): Promise<void> {
      if (app.access === undefined) return;
      const record = app.access.idpGroups.length > 0 ? await deps.sessions.get(token) : undefined;
      const idpGroups = record !== undefined && record.username.toLowerCase() === username.toLowerCase() ? (record.idpGroups ?? []) : [];
      await enforce(app, app.access, username, idpGroups);
    },
  };
}

export type AccessEnforcer = ReturnType<typeof createAccessEnforcer>;
