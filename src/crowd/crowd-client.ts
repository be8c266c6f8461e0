/**
 * Crowd REST client: the endpoints the proxy uses (crowd.md §1–§2, §6), over the connection of crowd-connection.ts.
 * Answers are read by crowd-replies.ts and turned into typed errors by crowd-errors.ts: together, the only place where
 * Crowd's answers become errors from `errors.ts`.
 */
import type { CrowdConfig } from '../config/runtime-config.js';
import { AccessDeniedError, CrowdRejectedError, IdentityNotFoundError } from '../errors.js';
import { createCrowdConnection, type CallOptions, type CrowdCallReport, type Reply } from './crowd-connection.js';
import { crowdFailure, malformedReply } from './crowd-errors.js';
import { isJsonObject, listOf, normalizeCookieDomain, stringField, toSession, toUser, wireFactors } from './crowd-replies.js';
import type { CrowdCookieConfig, CrowdGroup, CrowdSession, CrowdUser, NewCrowdUser, ValidationFactor } from './crowd-types.js';

export interface CrowdClientDeps {
  readonly now?: () => number;
  /** Told about every finished Crowd call (for metrics). */
  readonly onCall?: (report: CrowdCallReport) => void;
}

export interface CrowdClient {
  /** `POST /session/{token}`: the session, or null when Crowd says the token is invalid. */
  validateSession(token: string, factors: readonly ValidationFactor[]): Promise<CrowdSession | null>;
  /** `POST /session?validate-password=false`. */
  createSession(username: string, factors: readonly ValidationFactor[], durationSeconds?: number): Promise<CrowdSession>;
  /** `DELETE /session/{token}`; an already-invalid token is not an error. */
  invalidateSession(token: string): Promise<void>;
  /** `GET /config/cookie`, cached for `crowd.cookieConfigTtlMs`, with `crowd.cookie` overrides applied. */
  getCookieConfig(): Promise<CrowdCookieConfig>;
  /** The cookie configuration while it is cached; undefined when `getCookieConfig` must ask Crowd. */
  cachedCookieConfig(): CrowdCookieConfig | undefined;
  /** `GET /config/cookie` past the cache (refreshing it): proves Crowd answers and accepts the application's credentials. */
  checkConnection(): Promise<void>;
  /** `GET /user`: null when the user does not exist. */
  getUser(username: string): Promise<CrowdUser | null>;
  /** `GET /search` with CQL `email=…`; only users whose email equals `email` (ignoring case). */
  searchUsersByEmail(email: string): Promise<CrowdUser[]>;
  createUser(user: NewCrowdUser): Promise<void>;
  /** `PUT /user`: replaces name, active, names and email of an existing user. */
  updateUser(user: CrowdUser): Promise<void>;
  getDirectGroups(username: string): Promise<string[]>;
  getNestedGroups(username: string): Promise<string[]>;
  /** Already a member is not an error. */
  addUserToGroup(username: string, group: string): Promise<void>;
  /** Not a member is not an error. */
  removeUserFromGroup(username: string, group: string): Promise<void>;
  /** null when the group does not exist. */
  getGroup(name: string): Promise<CrowdGroup | null>;
  createGroup(name: string, description: string): Promise<void>;
  /** Waits for calls in progress (each bounded by `crowd.timeoutMs`), then closes the connections. */
  close(): Promise<void>;
}

const DEFAULT_COOKIE_NAME = 'crowd.token_key';
const PAGE_SIZE = 1000;
const SEARCH_MAX_RESULTS = 100;
/**
 * Reasons with which `POST /session/{token}` says the cookie does not identify a usable user:
 * unknown, expired or factor mismatch, and (Crowd checks the user too) deactivated or deleted.
 * All send the browser back to login, where `createSession` explains an inactive account.
 */
const TOKEN_NOT_VALID: ReadonlySet<string> = new Set(['INVALID_SSO_TOKEN', 'INACTIVE_ACCOUNT', 'USER_NOT_FOUND']);

export function createCrowdClient(config: CrowdConfig, deps: CrowdClientDeps = {}): CrowdClient {
  const now = deps.now ?? Date.now;
  const app = config.applicationName;
  const { call, close } = createCrowdConnection(config, deps.onCall);
  /** Everything not handled by the caller: Crowd down, this proxy refused, or an answer nobody expects. */
  const failure = (reply: Reply): ReturnType<typeof crowdFailure> => crowdFailure(reply, app);
  const malformed = malformedReply;

  const groupNames = async (kind: 'direct' | 'nested', username: string): Promise<string[]> => {
    const names: string[] = [];
    for (let start = 0; ; start += PAGE_SIZE) {
      const reply = await call({
        method: 'GET',
        resource: `/user/group/${kind}`,
        query: { username, 'start-index': String(start), 'max-results': String(PAGE_SIZE) },
        label: `GET /user/group/${kind}`,
      });
      if (reply.status !== 200) throw failure(reply);
      const page = listOf(reply, 'groups');
      for (const group of page) {
        const name = isJsonObject(group) ? stringField(group, 'name') : undefined;
        if (name === undefined) throw malformed(reply, 'a group has no name');
        names.push(name);
      }
      if (page.length < PAGE_SIZE) return names;
    }
  };

  const callExpecting = async (options: CallOptions, statuses: readonly number[], tolerated?: string): Promise<void> => {
    const reply = await call(options);
    if (statuses.includes(reply.status) || (tolerated !== undefined && reply.reason === tolerated)) return;
    throw failure(reply);
  };

  let cookieCache: { readonly value: CrowdCookieConfig; readonly expiresAtMs: number } | undefined;
  let cookiePending: Promise<CrowdCookieConfig> | undefined;

  const fetchCookieConfig = async (): Promise<CrowdCookieConfig> => {
    const reply = await call({ method: 'GET', resource: '/config/cookie', label: 'GET /config/cookie' });
    if (reply.status !== 200) throw failure(reply);
    if (!isJsonObject(reply.json)) throw malformed(reply, 'the cookie configuration is not a JSON object');
    const overrides = config.cookie;
    const crowdName = stringField(reply.json, 'name');
    const value: CrowdCookieConfig = {
      name: overrides.name ?? (crowdName === undefined || crowdName === '' ? DEFAULT_COOKIE_NAME : crowdName),
      domain: normalizeCookieDomain(overrides.domain ?? stringField(reply.json, 'domain')),
      secure: overrides.secure ?? reply.json['secure'] === true,
    };
    cookieCache = { value, expiresAtMs: now() + config.cookieConfigTtlMs };
    return value;
  };

  return {
    async validateSession(token, factors) {
      const reply = await call({
        method: 'POST',
        resource: `/session/${encodeURIComponent(token)}`,
        body: { validationFactors: wireFactors(factors) },
        label: 'POST /session/{token}',
        secrets: [token],
      });
      if (reply.status === 200) return toSession(reply);
      if ((reply.status === 400 || reply.status === 404) && reply.reason !== undefined && TOKEN_NOT_VALID.has(reply.reason)) return null;
      throw failure(reply);
    },

    async createSession(username, factors, durationSeconds) {
      const query: Record<string, string> = { 'validate-password': 'false' };
      if (durationSeconds !== undefined) query['duration'] = String(durationSeconds);
      const reply = await call({
        method: 'POST',
        resource: '/session',
        query,
        body: { username, 'validation-factors': { validationFactors: wireFactors(factors) } },
        label: 'POST /session',
      });
      if (reply.status === 201 || reply.status === 200) return toSession(reply);
      if (reply.reason === 'INACTIVE_ACCOUNT') {
        throw new AccessDeniedError(`Crowd user "${username}" is deactivated (INACTIVE_ACCOUNT); no session was created.`, {
          detail: 'INACTIVE_ACCOUNT',
          publicMessage: 'Your account is deactivated. Please contact your administrator.',
        });
      }
      if (reply.reason === 'INVALID_USER_AUTHENTICATION' || reply.reason === 'USER_NOT_FOUND') {
        throw new IdentityNotFoundError(
          `Crowd has no user "${username}" that application "${app}" can authenticate (${reply.reason}). ` +
            'Check the username mapping (identity.username) and the directories mapped to the application in Crowd.',
          { detail: reply.reason },
        );
      }
      if (reply.status === 403 && reply.reason === 'APPLICATION_PERMISSION_DENIED') {
        throw new CrowdRejectedError(
          `Crowd refused to create a session without a password (POST /session: APPLICATION_PERMISSION_DENIED). ` +
            `In Crowd, open Applications → ${app} → Options and switch on "Allow to generate user tokens".`,
          { detail: 'HTTP 403 APPLICATION_PERMISSION_DENIED' },
        );
      }
      throw failure(reply);
    },

    async invalidateSession(token) {
      const options: CallOptions = {
        method: 'DELETE',
        resource: `/session/${encodeURIComponent(token)}`,
        label: 'DELETE /session/{token}',
        secrets: [token],
      };
      await callExpecting(options, [200, 204], 'INVALID_SSO_TOKEN');
    },

    getCookieConfig() {
      if (cookieCache !== undefined && cookieCache.expiresAtMs > now()) return Promise.resolve(cookieCache.value);
      cookiePending ??= fetchCookieConfig().finally(() => {
        cookiePending = undefined;
      });
      return cookiePending;
    },

    cachedCookieConfig() {
      return cookieCache !== undefined && cookieCache.expiresAtMs > now() ? cookieCache.value : undefined;
    },

    async checkConnection() {
      await fetchCookieConfig();
    },

    async getUser(username) {
      const reply = await call({ method: 'GET', resource: '/user', query: { username }, label: 'GET /user' });
      if (reply.status === 200) return toUser(reply, reply.json);
      if (reply.status === 404 && reply.reason === 'USER_NOT_FOUND') return null;
      throw failure(reply);
    },

    async searchUsersByEmail(email) {
      const wanted = email.trim().toLowerCase();
      // CQL: a value with spaces or operator characters must be quoted (crowd.md §6.2, [I]).
      const value = /^[^\s"'\\()=<>!*,]+$/.test(wanted) ? wanted : `"${wanted.replace(/["\\]/g, '\\$&')}"`;
      const reply = await call({
        method: 'GET',
        resource: '/search',
        query: { 'entity-type': 'user', restriction: `email=${value}`, expand: 'user', 'max-results': String(SEARCH_MAX_RESULTS) },
        label: 'GET /search (email)',
      });
      if (reply.status !== 200) throw failure(reply);
      // Crowd may match case-insensitively or with wildcards; keep only exact matches.
      return listOf(reply, 'users')
        .map((entity) => toUser(reply, entity))
        .filter((user) => user.email?.trim().toLowerCase() === wanted);
    },

    async createUser(user) {
      const options: CallOptions = {
        method: 'POST',
        resource: '/user',
        body: {
          name: user.name,
          password: { value: user.password },
          active: user.active,
          'first-name': user.firstName,
          'last-name': user.lastName,
          'display-name': user.displayName,
          email: user.email,
        },
        label: 'POST /user',
        secrets: [user.password],
      };
      const reply = await call(options);
      if (reply.status === 201) return;
      const said = `${reply.reason ?? `HTTP ${reply.status}`}${reply.message === '' ? '' : ` "${reply.message}"`}`;
      const notCreated = 'Your account could not be created here automatically.';
      if (reply.status === 400 && (reply.reason === 'INVALID_USER' || reply.reason === 'INVALID_EMAIL')) {
        // Already exists (maybe in a directory the application cannot see) or invalid data from the IdP.
        throw new IdentityNotFoundError(
          `Crowd refused to create user "${user.name}" (POST /user: ${said}). Check the username mapping (identity.username) and ` +
            'the profile attributes (identity.provisioning.attributes), and whether the user exists in a directory not mapped to the application.',
          { detail: reply.reason, publicMessage: notCreated },
        );
      }
      if (reply.status === 400 && reply.reason === 'INVALID_CREDENTIAL') {
        throw new CrowdRejectedError(
          `Crowd refused the random password of new user "${user.name}" (POST /user: ${said}): the directory's password policy does not ` +
            "accept it. Relax the policy of the directory new users are created in, or switch off identity.provisioning.",
          { detail: 'INVALID_CREDENTIAL', publicMessage: `${notCreated} An administrator has to fix this.` },
        );
      }
      if (reply.status === 403 && reply.reason === 'APPLICATION_PERMISSION_DENIED') {
        throw new CrowdRejectedError(
          `Crowd refused to create user "${user.name}" (POST /user: ${said}): application "${app}" may not add users. In Crowd, open ` +
            `Applications → ${app} → Permissions and allow "Add User" (for identity.groups also "Modify Group", and "Add Group" for ` +
            'createMissing) on the directory new users belong in, and on that directory\'s own Permissions tab; or switch off identity.provisioning.',
          { detail: 'APPLICATION_PERMISSION_DENIED', publicMessage: `${notCreated} An administrator has to fix this.` },
        );
      }
      throw failure(reply);
    },

    async updateUser(user) {
      const options: CallOptions = {
        method: 'PUT',
        resource: '/user',
        query: { username: user.name },
        body: {
          name: user.name,
          active: user.active,
          'first-name': user.firstName,
          'last-name': user.lastName,
          'display-name': user.displayName,
          email: user.email,
        },
        label: 'PUT /user',
      };
      await callExpecting(options, [200, 204]);
    },

    getDirectGroups: (username) => groupNames('direct', username),
    getNestedGroups: (username) => groupNames('nested', username),

    async addUserToGroup(username, group) {
      const options: CallOptions = {
        method: 'POST',
        resource: '/user/group/direct',
        query: { username },
        body: { name: group },
        label: 'POST /user/group/direct',
      };
      await callExpecting(options, [200, 201, 204], 'MEMBERSHIP_ALREADY_EXISTS');
    },

    async removeUserFromGroup(username, group) {
      const options: CallOptions = {
        method: 'DELETE',
        resource: '/user/group/direct',
        query: { username, groupname: group },
        label: 'DELETE /user/group/direct',
      };
      await callExpecting(options, [200, 204], 'MEMBERSHIP_NOT_FOUND');
    },

    async getGroup(name) {
      const reply = await call({ method: 'GET', resource: '/group', query: { groupname: name }, label: 'GET /group' });
      if (reply.status === 404 && reply.reason === 'GROUP_NOT_FOUND') return null;
      if (reply.status !== 200) throw failure(reply);
      const entity = reply.json;
      const groupName = isJsonObject(entity) ? stringField(entity, 'name') : undefined;
      if (!isJsonObject(entity) || groupName === undefined) throw malformed(reply, 'the group has no name');
      return { name: groupName, description: stringField(entity, 'description'), active: entity['active'] === true };
    },

    async createGroup(name, description) {
      const options: CallOptions = {
        method: 'POST',
        resource: '/group',
        body: { name, description, type: 'GROUP', active: true },
        label: 'POST /group',
      };
      await callExpecting(options, [201]);
    },

    close,
  };
}
