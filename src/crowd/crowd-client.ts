/**
 * Crowd REST client (`/rest/usermanagement/1`, crowd.md §1–§2, §6) over one keep-alive undici
 * Pool. The only place where Crowd's answers become typed errors from `errors.ts`.
 */
import { Pool, type Dispatcher } from 'undici';
import type { CrowdConfig } from '../config/runtime-config.js';
import {
  AccessDeniedError,
  CrowdRejectedError,
  CrowdUnavailableError,
  IdentityNotFoundError,
  type SsoProxyError,
} from '../errors.js';
import type { CrowdCookieConfig, CrowdGroup, CrowdSession, CrowdUser, NewCrowdUser, ValidationFactor } from './crowd-types.js';


/** How one Crowd call ended: `ok` is any answer Crowd gives in normal operation (a 404 for an unknown user too). */
export type CrowdCallOutcome = 'ok' | 'rejected' | 'server_error' | 'invalid_response' | 'timeout' | 'unreachable';

export interface CrowdCallReport {
  /** The call's label, without tokens or names: `POST /session/{token}`, `GET /user`. */
  readonly endpoint: string;
  readonly durationMs: number;
  readonly outcome: CrowdCallOutcome;
}

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

const REST_PATH = '/rest/usermanagement/1';
const DEFAULT_COOKIE_NAME = 'crowd.token_key';
/** Crowd's answers are small; a bigger body means something else is answering. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
/**
 * Connections to Crowd, and so Crowd calls at once; more wait their turn in this client (not in the pool), so that
 * a call's `crowd.timeoutMs` starts when it is sent.
 */
export const CROWD_CONNECTIONS = 16;
/** Below Tomcat's default keep-alive (20 s) so the proxy, not Crowd, closes idle sockets. */
const KEEP_ALIVE_TIMEOUT_MS = 4_000;
const PAGE_SIZE = 1000;
const SEARCH_MAX_RESULTS = 100;
const MAX_CROWD_MESSAGE_CHARS = 300;
/**
 * Reasons with which `POST /session/{token}` says the cookie does not identify a usable user:
 * unknown, expired or factor mismatch, and (Crowd checks the user too) deactivated or deleted.
 * All send the browser back to login, where `createSession` explains an inactive account.
 */
const TOKEN_NOT_VALID: ReadonlySet<string> = new Set(['INVALID_SSO_TOKEN', 'INACTIVE_ACCOUNT', 'USER_NOT_FOUND']);

interface CallOptions {
  readonly method: Dispatcher.HttpMethod;
  /** Path below `/rest/usermanagement/1`, segments already encoded. */
  readonly resource: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** The call as an administrator reads it, without tokens or passwords (`POST /session/{token}`). */
  readonly label: string;
  /** Values that must never appear in an error message (token, password). */
  readonly secrets?: readonly string[];
}

interface Reply {
  readonly status: number;
  readonly json: unknown;
  /** Crowd's error entity `reason`, when the body is one. */
  readonly reason: string | undefined;
  /** Crowd's error `message`, shortened and with secrets removed ('' when absent). */
  readonly message: string;
  readonly label: string;
}

type Json = Record<string, unknown>;

function isJsonObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(value: Json, ...names: string[]): string | undefined {
  for (const name of names) {
    const field = value[name];
    if (typeof field === 'string') return field;
  }
  return undefined;
}

function epochMsField(value: Json, ...names: string[]): number | undefined {
  for (const name of names) {
    const field = value[name];
    if (typeof field === 'number' && Number.isFinite(field)) return field;
    if (typeof field === 'string' && /^\d+$/.test(field)) return Number(field);
  }
  return undefined;
}

function redact(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) if (secret !== '') result = result.split(secret).join('[redacted]');
  return result.length > MAX_CROWD_MESSAGE_CHARS ? `${result.slice(0, MAX_CROWD_MESSAGE_CHARS)}…` : result;
}

/** Java client rule: no leading dot; blank or `localhost` means a host-only cookie. */
function normalizeCookieDomain(domain: string | undefined): string | undefined {
  if (domain === undefined) return undefined;
  const trimmed = domain.trim().replace(/^\./, '');
  return trimmed === '' || trimmed.toLowerCase() === 'localhost' ? undefined : trimmed;
}

/** Only `name` and `value` go on the wire, whatever else the caller's objects carry. */
function wireFactors(factors: readonly ValidationFactor[]): ValidationFactor[] {
  return factors.map(({ name, value }) => ({ name, value }));
}

function isTimeout(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return error.name === 'TimeoutError' || (typeof code === 'string' && code.endsWith('_TIMEOUT'));
}

/** The outcome of a call that got no usable answer (`unreachable` builds the error). */
function transportOutcome(error: SsoProxyError): CrowdCallOutcome {
  if (error.detail === 'timeout') return 'timeout';
  return error instanceof CrowdRejectedError ? 'invalid_response' : 'unreachable';
}

/** 401, or 403 without a Crowd reason, is Crowd refusing this proxy (credentials, remote address), not the user. */
function answerOutcome(status: number, reason: string | undefined): CrowdCallOutcome {
  if (status >= 500) return 'server_error';
  if (status === 401 || (status === 403 && reason === undefined)) return 'rejected';
  return 'ok';
}

export function createCrowdClient(config: CrowdConfig, deps: CrowdClientDeps = {}): CrowdClient {
  const now = deps.now ?? Date.now;
  const base = new URL(config.baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '') + REST_PATH;
  const app = config.applicationName;
  const authorization = `Basic ${Buffer.from(`${app}:${config.applicationPassword}`, 'utf8').toString('base64')}`;
  const pool = new Pool(base.origin, {
    connections: CROWD_CONNECTIONS,
    connectTimeout: config.timeoutMs,
    headersTimeout: config.timeoutMs,
    bodyTimeout: config.timeoutMs,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    maxResponseSize: MAX_RESPONSE_BYTES,
  });

  const unreachable = (label: string, error: unknown): SsoProxyError => {
    if (isTimeout(error)) {
      return new CrowdUnavailableError(
        `Crowd at ${config.baseUrl} did not answer ${label} within crowd.timeoutMs (${config.timeoutMs} ms). ` +
          'Check that Crowd is running and reachable from the proxy, or raise crowd.timeoutMs.',
        { cause: error, detail: 'timeout' },
      );
    }
    if (error instanceof Error && (error as { code?: unknown }).code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
      return new CrowdRejectedError(
        `Crowd at ${config.baseUrl} answered ${label} with more than ${MAX_RESPONSE_BYTES} bytes. ` +
          'Check that crowd.baseUrl points at Crowd (including its context path, e.g. /crowd).',
        { cause: error, detail: 'response_too_large' },
      );
    }
    const code = error instanceof Error ? String((error as { code?: unknown }).code ?? error.name) : 'unknown error';
    return new CrowdUnavailableError(
      `Crowd at ${config.baseUrl} could not be reached for ${label} (${code}). ` +
        'Check crowd.baseUrl and that Crowd is running and reachable from the proxy.',
      { cause: error, detail: code },
    );
  };

  const onCall = deps.onCall;
  const report = (label: string, startedMs: number, outcome: CrowdCallOutcome): void => {
    onCall?.({ endpoint: label, durationMs: performance.now() - startedMs, outcome });
  };

  /** Calls holding one of the connections; those waiting for one follow in `waiting`, first come first served. */
  let sending = 0;
  const waiting: { readonly label: string; readonly sinceMs: number; readonly resolve: () => void; readonly reject: (error: SsoProxyError) => void }[] = [];

  /** undefined: send now; else the turn to wait for (rejected when no connection became free within crowd.timeoutMs). */
  const connectionTurn = (label: string): Promise<void> | undefined => {
    if (sending < CROWD_CONNECTIONS) {
      sending += 1;
      return undefined;
    }
    return new Promise((resolve, reject) => waiting.push({ label, sinceMs: performance.now(), resolve, reject }));
  };

  const connectionDone = (): void => {
    const nowMs = performance.now();
    for (let next = waiting.shift(); next !== undefined; next = waiting.shift()) {
      if (nowMs - next.sinceMs < config.timeoutMs) {
        next.resolve();
        return;
      }
      next.reject(
        new CrowdUnavailableError(
          `Crowd at ${config.baseUrl}: ${next.label} waited crowd.timeoutMs (${config.timeoutMs} ms) for one of the ${CROWD_CONNECTIONS} ` +
            'connections, all busy with calls Crowd answers slowly. Check Crowd\'s load and response times.',
          { detail: 'timeout' },
        ),
      );
    }
    sending -= 1;
  };

  const call = async (options: CallOptions): Promise<Reply> => {
    const startedMs = performance.now();
    const secrets = options.secrets ?? [];
    const headers: Record<string, string> = { authorization, accept: 'application/json' };
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    const search = options.query === undefined ? '' : `?${new URLSearchParams(options.query).toString()}`;
    let status: number;
    let contentType: string;
    let text: string;
    const turn = connectionTurn(options.label);
    if (turn !== undefined) {
      try {
        await turn;
      } catch (error) {
        report(options.label, startedMs, 'timeout');
        throw error;
      }
    }
    try {
      const response = await pool.request({
        origin: base.origin,
        path: basePath + options.resource + search,
        method: options.method,
        headers,
        body,
        signal: AbortSignal.timeout(config.timeoutMs),
      });
      status = response.statusCode;
      const header = response.headers['content-type'];
      contentType = (Array.isArray(header) ? header.join(',') : header ?? '').toLowerCase();
      text = await response.body.text();
    } catch (error) {
      const failure = unreachable(options.label, error);
      report(options.label, startedMs, transportOutcome(failure));
      throw failure;
    } finally {
      connectionDone();
    }
    let json: unknown;
    if (contentType.includes('json') && text.trim() !== '') {
      try {
        json = JSON.parse(text);
      } catch (error) {
        // A broken error page from a failing Crowd is still "Crowd unavailable", decided by status below.
        if (status < 500) {
          report(options.label, startedMs, 'invalid_response');
          throw new CrowdRejectedError(
            `Crowd answered ${options.label} with HTTP ${status} and a body that is not valid JSON. Check crowd.baseUrl.`,
            { cause: error, detail: `HTTP ${status} invalid_json` },
          );
        }
      }
    }
    const reason = isJsonObject(json) ? stringField(json, 'reason') : undefined;
    const message = isJsonObject(json) ? redact(stringField(json, 'message') ?? '', secrets) : '';
    report(options.label, startedMs, answerOutcome(status, reason));
    return { status, json, reason, message, label: options.label };
  };

  /** Everything not handled by the caller: Crowd down, this proxy refused, or an answer nobody expects. */
  const failure = (reply: Reply): SsoProxyError => {
    const { status, reason, label } = reply;
    const said = `${reason === undefined ? '' : ` ${reason}`}${reply.message === '' ? '' : ` ("${reply.message}")`}`;
    const detail = `HTTP ${status} ${reason ?? '(no reason)'}`;
    if (status >= 500) {
      return new CrowdUnavailableError(
        `Crowd answered ${label} with HTTP ${status}${said}. Crowd or one of its directories has a problem; see Crowd's log.`,
        { detail },
      );
    }
    if (status === 401) {
      return new CrowdRejectedError(
        `Crowd refused the application credentials (HTTP 401 on ${label}). Check crowd.applicationName ("${app}") and ` +
          `crowd.applicationPassword against the application in Crowd (Applications → ${app}), and that it is active.`,
        { detail },
      );
    }
    if (status === 403 && reason === 'APPLICATION_ACCESS_DENIED') {
      return new AccessDeniedError(
        `Crowd does not allow the user to authenticate to application "${app}" (${label}: APPLICATION_ACCESS_DENIED). ` +
          `In Crowd, allow the user or one of their groups on Applications → ${app}.`,
        { detail: 'APPLICATION_ACCESS_DENIED' },
      );
    }
    if (status === 403 && reason === 'APPLICATION_PERMISSION_DENIED') {
      return new CrowdRejectedError(
        `Crowd refused ${label}: application "${app}" lacks the directory permission for it (APPLICATION_PERMISSION_DENIED). ` +
          `In Crowd, grant the permission on the target directory under Applications → ${app}.`,
        { detail },
      );
    }
    if (status === 403 && reason === undefined) {
      return new CrowdRejectedError(
        `Crowd refused requests from this proxy's address (HTTP 403 on ${label}). In Crowd, add the IP address the ` +
          `proxy connects from to Applications → ${app} → Remote addresses.`,
        { detail },
      );
    }
    return new CrowdRejectedError(
      `Crowd answered ${label} with an unexpected HTTP ${status}${said}. ` +
        'Check crowd.baseUrl (it must include Crowd\'s context path, e.g. /crowd) and the Crowd version.',
      { detail },
    );
  };

  const malformed = (reply: Reply, what: string): CrowdRejectedError =>
    new CrowdRejectedError(
      `Crowd answered ${reply.label} with HTTP ${reply.status} but ${what}. Check crowd.baseUrl points at Crowd.`,
      { detail: `HTTP ${reply.status} malformed_entity` },
    );

  const toSession = (reply: Reply): CrowdSession => {
    const entity = reply.json;
    const user = isJsonObject(entity) ? entity['user'] : undefined;
    const token = isJsonObject(entity) ? stringField(entity, 'token') : undefined;
    const username = isJsonObject(user) ? stringField(user, 'name') : undefined;
    if (!isJsonObject(entity) || token === undefined || token === '' || username === undefined || username === '') {
      throw malformed(reply, 'the session has no token or user.name');
    }
    return {
      token,
      username,
      createdAtMs: epochMsField(entity, 'created-date', 'createdDate'),
      expiresAtMs: epochMsField(entity, 'expiry-date', 'expiryDate'),
    };
  };

  const toUser = (reply: Reply, entity: unknown): CrowdUser => {
    const name = isJsonObject(entity) ? stringField(entity, 'name') : undefined;
    if (!isJsonObject(entity) || name === undefined || name === '') throw malformed(reply, 'a user has no name');
    return {
      name,
      active: entity['active'] === true,
      email: stringField(entity, 'email'),
      firstName: stringField(entity, 'first-name', 'firstName'),
      lastName: stringField(entity, 'last-name', 'lastName'),
      displayName: stringField(entity, 'display-name', 'displayName'),
    };
  };

  const listOf = (reply: Reply, field: string): unknown[] => {
    const list = isJsonObject(reply.json) ? reply.json[field] : undefined;
    if (!Array.isArray(list)) throw malformed(reply, `the body has no "${field}" list`);
    return list;
  };

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

    close: () => pool.close(),
  };
}
