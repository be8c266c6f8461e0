/**
 * A small, in-memory Atlassian Crowd that follows the documented REST API under
 * `/crowd/rest/usermanagement/1` (see the project's Crowd notes: statuses, `{reason, message}`
 * errors, 401 plain text for bad application credentials, 403 HTML for a refused caller
 * address). The test suite uses it as Crowd, and `npm run demo` uses it as the demo Crowd.
 *
 * Choices where Crowd's behaviour is not documented:
 * - `POST /session?validate-password=false` for an unknown user answers 404 USER_NOT_FOUND
 *   (with a password check: 400 INVALID_USER_AUTHENTICATION); a refusal because "Allow to
 *   generate user tokens" is off answers 403 APPLICATION_PERMISSION_DENIED.
 * - With `consistentClientIp` on, a session is bound to the client address resolved from its
 *   factors (`remote_address` + `X-Forwarded-For`, trusted-proxy rule of Crowd's server:
 *   the first X-Forwarded-For entry when every later hop is a trusted proxy, else `remote_address`).
 * - Groups are not nested: `/user/group/nested` answers the direct groups.
 * - `POST /user` refuses, with 400 INVALID_USER, a name longer than 255 characters (Crowd's column size) or with
 *   leading or trailing whitespace.
 */
import { randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { BlockList, isIP, type AddressInfo } from 'node:net';

export interface FakeApplication {
  password: string;
  /** Crowd's "Allow to generate user tokens" option (off by default in Crowd). */
  allowGenerateUserTokens: boolean;
  /** Caller IPs or CIDRs allowed to call as this application (`localhost` = 127.0.0.1 and ::1); undefined = any. */
  remoteAddresses: string[] | undefined;
  /** Users in one of these groups may authenticate; undefined = "allow all users to authenticate". */
  allowedGroups: string[] | undefined;
  /** May create and change users, groups and memberships. */
  allowDirectoryWrites: boolean;
}

export interface FakeApplicationInput {
  password: string;
  allowGenerateUserTokens?: boolean;
  remoteAddresses?: string[];
  allowedGroups?: string[];
  allowDirectoryWrites?: boolean;
}

export interface FakeUserInput {
  name: string;
  password?: string;
  active?: boolean;
  email?: string;
  firstName?: string;
  lastName?: string;
  displayName?: string;
  /** Created when missing. */
  groups?: string[];
}

export interface FakeSession {
  readonly token: string;
  readonly username: string;
  readonly factors: readonly { readonly name: string; readonly value: string }[];
  /** The client address resolved from the creation factors. */
  readonly clientAddress: string;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
}

export interface FakeCrowdCall {
  readonly method: string;
  /** Path below `/rest/usermanagement/1`, with the query string (`/session/abc`, `/user?username=bob`). */
  readonly path: string;
  /** The authenticated application; undefined when authentication failed or never happened. */
  readonly application: string | undefined;
}

export interface FakeCrowdSettings {
  /** Crowd's "Require consistent client IP address". */
  consistentClientIp: boolean;
  /** Crowd's trusted proxy servers (IPs or CIDRs). */
  trustedProxies: string[];
  /** What `GET /config/cookie` answers. */
  cookieConfig: { name: string; domain: string; secure: boolean };
  /** Crowd's session (inactivity) timeout. */
  sessionTimeoutMs: number;
  /** Delay before every answer. */
  latencyMs: number;
  /** Accept requests but never answer them. */
  hang: boolean;
}

export interface FakeCrowdOptions extends Partial<FakeCrowdSettings> {
  /** Default 0 (any free port); always on 127.0.0.1. */
  port?: number;
  now?: () => number;
  applications?: Record<string, FakeApplicationInput>;
  users?: FakeUserInput[];
}

export interface FakeCrowd {
  /** Crowd base URL with its context path, e.g. `http://127.0.0.1:4990/crowd`. */
  readonly baseUrl: string;
  readonly port: number;
  readonly settings: FakeCrowdSettings;
  readonly applications: Map<string, FakeApplication>;
  readonly calls: FakeCrowdCall[];
  readonly sessions: ReadonlyMap<string, FakeSession>;
  addApplication(name: string, application: FakeApplicationInput): void;
  addUser(user: FakeUserInput): void;
  setUserActive(name: string, active: boolean): void;
  countCalls(method: string, pathPrefix: string): number;
  invalidateAllSessions(): void;
  close(): Promise<void>;
}

interface StoredUser {
  name: string;
  password: string | undefined;
  active: boolean;
  email: string;
  firstName: string;
  lastName: string;
  displayName: string;
  groups: Set<string>;
}

interface StoredGroup {
  readonly name: string;
  readonly description: string;
  readonly active: boolean;
}

interface StoredSession extends FakeSession {
  expiresAtMs: number;
  readonly timeoutMs: number;
}

type Factor = { readonly name: string; readonly value: string };
type Json = Record<string, unknown>;

type RecordedCall = { -readonly [K in keyof FakeCrowdCall]: FakeCrowdCall[K] };

interface Exchange {
  readonly res: ServerResponse;
  readonly method: string;
  readonly resource: string;
  readonly query: URLSearchParams;
  readonly body: unknown;
  readonly app: FakeApplication;
  readonly appName: string;
}

const CONTEXT = '/crowd';
const REST_PREFIXES = [`${CONTEXT}/rest/usermanagement/1`, `${CONTEXT}/rest/usermanagement/latest`];
const MAX_BODY_BYTES = 1024 * 1024;
const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const TOKEN_LENGTH = 24;
const NOT_FOUND_HTML = '<html><head><title>Apache Tomcat - Error report</title></head><body><h1>HTTP Status 404 - Not Found</h1></body></html>';
const FORBIDDEN_HTML =
  '<html><head><title>Apache Tomcat - Error report</title></head><body><h1>HTTP Status 403 - Forbidden</h1>' +
  '<p><b>description</b> <u>The server understood the request but refuses to authorize it.</u></p></body></html>';

const lower = (value: string): string => value.toLowerCase();
const isJson = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const normalizeAddress = (address: string): string => address.replace(/%.*$/, '').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');

function newToken(): string {
  let token = '';
  for (let i = 0; i < TOKEN_LENGTH; i++) token += TOKEN_ALPHABET[randomInt(TOKEN_ALPHABET.length)];
  return token;
}

function addressList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    if (entry === 'localhost') {
      list.addAddress('127.0.0.1', 'ipv4');
      list.addAddress('::1', 'ipv6');
      continue;
    }
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (isIP(address) === 0) continue;
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return list;
}

function isListed(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** Crowd server rule: the first X-Forwarded-For entry when every later hop is trusted, else the direct address. */
function resolveClientAddress(remoteAddress: string, forwardedFor: string | undefined, trusted: BlockList): string {
  const hops = (forwardedFor ?? '').split(/[\s,]+/).filter((hop) => hop !== '').map(normalizeAddress);
  const first = hops[0];
  if (first === undefined) return remoteAddress;
  return [...hops.slice(1), remoteAddress].every((hop) => isListed(trusted, hop)) ? first : remoteAddress;
}

function parseFactors(value: unknown): Factor[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const factors: Factor[] = [];
  for (const item of value) {
    const name = isJson(item) ? str(item['name']) : undefined;
    const factorValue = isJson(item) ? str(item['value']) : undefined;
    if (name === undefined || factorValue === undefined) return undefined;
    factors.push({ name, value: factorValue });
  }
  return factors;
}

function factorValue(factors: readonly Factor[], name: string): string | undefined {
  return factors.find((factor) => factor.name === name)?.value;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, status: number, reason: string, message: string): void {
  sendJson(res, status, { reason, message });
}

function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status);
  res.end();
}

function sendText(res: ServerResponse, status: number, contentType: string, text: string): void {
  res.writeHead(status, { 'content-type': contentType });
  res.end(text);
}

/** CQL subset: `property=value`, value optionally in double quotes, `*` as wildcard; case-insensitive. */
function parseRestriction(cql: string | null): ((user: StoredUser) => boolean) | undefined {
  if (cql === null || cql.trim() === '') return () => true;
  const match = /^\s*(email|name|firstName|lastName|displayName)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"]+))\s*$/i.exec(cql);
  if (match === null) return undefined;
  const property = lower(match[1] ?? '');
  const raw = match[2] === undefined ? (match[3] ?? '') : match[2].replace(/\\(.)/g, '$1');
  const pattern = new RegExp(`^${raw.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
  const pick: Record<string, (user: StoredUser) => string> = {
    email: (user) => user.email,
    name: (user) => user.name,
    firstname: (user) => user.firstName,
    lastname: (user) => user.lastName,
    displayname: (user) => user.displayName,
  };
  const read = pick[property] ?? ((user: StoredUser) => user.name);
  return (user) => pattern.test(read(user));
}

export async function startFakeCrowd(options: FakeCrowdOptions = {}): Promise<FakeCrowd> {
  const now = options.now ?? Date.now;
  const settings: FakeCrowdSettings = {
    consistentClientIp: options.consistentClientIp ?? false,
    trustedProxies: options.trustedProxies ?? [],
    cookieConfig: options.cookieConfig ?? { name: 'crowd.token_key', domain: '', secure: false },
    sessionTimeoutMs: options.sessionTimeoutMs ?? 30 * 60_000,
    latencyMs: options.latencyMs ?? 0,
    hang: options.hang ?? false,
  };
  const applications = new Map<string, FakeApplication>();
  const users = new Map<string, StoredUser>();
  const groups = new Map<string, StoredGroup>();
  const sessions = new Map<string, StoredSession>();
  /** `user\0factors` → the token of the session Crowd hands out again for them (checked for life on use). */
  const sessionTokenByOwner = new Map<string, string>();
  const calls: FakeCrowdCall[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let restBase = '';

  const ensureGroup = (name: string, description = ''): StoredGroup => {
    const existing = groups.get(lower(name));
    if (existing !== undefined) return existing;
    const group = { name, description, active: true };
    groups.set(lower(name), group);
    return group;
  };

  const userLink = (user: StoredUser): Json => ({ href: `${restBase}/user?username=${encodeURIComponent(user.name)}`, rel: 'self' });
  const userEntity = (user: StoredUser): Json => ({
    name: user.name,
    key: lower(user.name),
    'first-name': user.firstName,
    'last-name': user.lastName,
    'display-name': user.displayName,
    email: user.email,
    active: user.active,
    password: { link: { href: `${restBase}/user/password?username=${encodeURIComponent(user.name)}`, rel: 'edit' } },
    link: userLink(user),
  });
  const sessionEntity = (session: StoredSession, expandUser: boolean): Json => {
    const user = users.get(lower(session.username));
    return {
      token: session.token,
      user: expandUser && user !== undefined ? userEntity(user) : { name: session.username, link: user ? userLink(user) : undefined },
      'created-date': session.createdAtMs,
      'expiry-date': session.expiresAtMs,
      link: { href: `${restBase}/session/${session.token}`, rel: 'self' },
    };
  };
  const groupEntity = (group: StoredGroup): Json => ({
    name: group.name,
    description: group.description,
    type: 'GROUP',
    active: group.active,
    link: { href: `${restBase}/group?groupname=${encodeURIComponent(group.name)}`, rel: 'self' },
  });

  /** The session, unless it is unknown or expired (an expired one is dropped). */
  const liveSession = (token: string): StoredSession | undefined => {
    const session = sessions.get(token);
    if (session === undefined || session.expiresAtMs > now()) return session;
    sessions.delete(token);
    return undefined;
  };
  const mayAuthenticate = (app: FakeApplication, user: StoredUser): boolean =>
    app.allowedGroups === undefined || app.allowedGroups.some((group) => user.groups.has(lower(group)));
  const clientAddressOf = (factors: readonly Factor[]): string =>
    resolveClientAddress(
      normalizeAddress(factorValue(factors, 'remote_address') ?? ''),
      factorValue(factors, 'X-Forwarded-For'),
      addressList(settings.trustedProxies),
    );
  const refuseWrites = (ex: Exchange): boolean => {
    if (ex.app.allowDirectoryWrites) return false;
    sendError(ex.res, 403, 'APPLICATION_PERMISSION_DENIED', `Application '${ex.appName}' has no permission to modify the directory`);
    return true;
  };

  const createSession = (ex: Exchange): void => {
    const body = ex.body;
    const username = isJson(body) ? str(body['username']) : undefined;
    const wrapper = isJson(body) ? body['validation-factors'] : undefined;
    const factors = wrapper === undefined ? [] : parseFactors(isJson(wrapper) ? wrapper['validationFactors'] : undefined);
    if (username === undefined || factors === undefined) {
      sendError(ex.res, 400, 'ILLEGAL_ARGUMENT', 'Expected {username, password, validation-factors: {validationFactors: [...]}}');
      return;
    }
    const checkPassword = ex.query.get('validate-password') !== 'false';
    if (!checkPassword && !ex.app.allowGenerateUserTokens) {
      sendError(ex.res, 403, 'APPLICATION_PERMISSION_DENIED', `Application '${ex.appName}' is not allowed to generate user tokens`);
      return;
    }
    const user = users.get(lower(username));
    if (user === undefined) {
      if (checkPassword) sendError(ex.res, 400, 'INVALID_USER_AUTHENTICATION', `Failed to authenticate principal, ${username} does not exist`);
      else sendError(ex.res, 404, 'USER_NOT_FOUND', `User <${username}> does not exist`);
      return;
    }
    if (checkPassword && (user.password === undefined || user.password !== str(isJson(body) ? body['password'] : undefined))) {
      sendError(ex.res, 400, 'INVALID_USER_AUTHENTICATION', 'Failed to authenticate principal, password was invalid');
      return;
    }
    if (!user.active) return sendError(ex.res, 400, 'INACTIVE_ACCOUNT', `Account with name <${user.name}> is inactive`);
    if (!mayAuthenticate(ex.app, user)) {
      sendError(ex.res, 403, 'APPLICATION_ACCESS_DENIED', `User <${user.name}> does not have access to application <${ex.appName}>`);
      return;
    }
    const durationSeconds = Number(ex.query.get('duration') ?? Number.NaN);
    const timeoutMs = durationSeconds > 0 ? Math.min(durationSeconds * 1000, settings.sessionTimeoutMs) : settings.sessionTimeoutMs;
    const ownerKey = `${lower(user.name)}\0${JSON.stringify(factors)}`;
    // Crowd hands out the ongoing session for the same user and factors instead of a new one.
    const ongoingToken = sessionTokenByOwner.get(ownerKey);
    let session = ongoingToken === undefined ? undefined : liveSession(ongoingToken);
    if (session === undefined) {
      const createdAtMs = now();
      const clientAddress = clientAddressOf(factors);
      session = { token: newToken(), username: user.name, factors, clientAddress, createdAtMs, expiresAtMs: createdAtMs + timeoutMs, timeoutMs };
      sessions.set(session.token, session);
      sessionTokenByOwner.set(ownerKey, session.token);
    } else {
      session.expiresAtMs = now() + session.timeoutMs;
    }
    sendJson(ex.res, 201, sessionEntity(session, false), { location: `${restBase}/session/${session.token}`, 'cache-control': 'no-cache' });
  };

  const validateSession = (ex: Exchange, token: string): void => {
    const factors = parseFactors(isJson(ex.body) ? ex.body['validationFactors'] : undefined);
    if (factors === undefined) return sendError(ex.res, 400, 'ILLEGAL_ARGUMENT', 'Expected {validationFactors: [...]}');
    const session = liveSession(token);
    if (session === undefined) {
      sendError(ex.res, 404, 'INVALID_SSO_TOKEN', `Failed to find entity of type [com.atlassian.crowd.model.token.Token] with identifier [${token}]`);
      return;
    }
    const user = users.get(lower(session.username));
    if (user === undefined) return sendError(ex.res, 400, 'INVALID_SSO_TOKEN', 'The user of this token no longer exists');
    if (!user.active) return sendError(ex.res, 400, 'INACTIVE_ACCOUNT', `Account with name <${user.name}> is inactive`);
    if (!mayAuthenticate(ex.app, user)) {
      sendError(ex.res, 403, 'APPLICATION_ACCESS_DENIED', `User <${user.name}> does not have access to application <${ex.appName}>`);
      return;
    }
    if (settings.consistentClientIp && clientAddressOf(factors) !== session.clientAddress) {
      sendError(ex.res, 400, 'INVALID_SSO_TOKEN', 'The validation factors do not match the token');
      return;
    }
    session.expiresAtMs = now() + session.timeoutMs;
    sendJson(ex.res, 200, sessionEntity(session, false));
  };

  const sessionRoutes = (ex: Exchange, token: string | undefined): void => {
    if (token === undefined) {
      if (ex.method === 'POST') return createSession(ex);
      if (ex.method === 'DELETE') {
        const username = lower(ex.query.get('username') ?? '');
        const exclude = ex.query.get('exclude');
        for (const [key, session] of sessions) if (lower(session.username) === username && key !== exclude) sessions.delete(key);
        return sendEmpty(ex.res, 204);
      }
    } else if (ex.method === 'POST') {
      return validateSession(ex, token);
    } else if (ex.method === 'GET') {
      const session = liveSession(token);
      if (session === undefined) return sendError(ex.res, 404, 'INVALID_SSO_TOKEN', 'Token does not exist or has expired');
      return sendJson(ex.res, 200, sessionEntity(session, ex.query.get('expand') === 'user'));
    } else if (ex.method === 'DELETE') {
      sessions.delete(token);
      return sendEmpty(ex.res, 204);
    }
    sendEmpty(ex.res, 405);
  };

  const userRoutes = (ex: Exchange): void => {
    const username = ex.query.get('username') ?? '';
    const user = users.get(lower(username));
    if (ex.method === 'GET') {
      if (user === undefined) return sendError(ex.res, 404, 'USER_NOT_FOUND', `User <${username}> does not exist`);
      return sendJson(ex.res, 200, userEntity(user));
    }
    if (ex.method !== 'POST' && ex.method !== 'PUT') return sendEmpty(ex.res, 405);
    if (refuseWrites(ex)) return;
    const body = isJson(ex.body) ? ex.body : {};
    const name = str(body['name']);
    if (ex.method === 'POST') {
      const password = isJson(body['password']) ? str(body['password']['value']) : undefined;
      if (name === undefined || name === '') return sendError(ex.res, 400, 'INVALID_USER', 'A user needs a name');
      if (name.length > 255 || name.trim() !== name) return sendError(ex.res, 400, 'INVALID_USER', `Invalid user name <${name.slice(0, 40)}…>`);
      if (users.has(lower(name))) return sendError(ex.res, 400, 'INVALID_USER', `User <${name}> already exists`);
      if (password === undefined || password === '') return sendError(ex.res, 400, 'INVALID_CREDENTIAL', 'A user needs a password');
      const created = storeUser({
        name,
        password,
        active: body['active'] !== false,
        email: str(body['email']),
        firstName: str(body['first-name']),
        lastName: str(body['last-name']),
        displayName: str(body['display-name']),
      });
      return sendJson(ex.res, 201, userEntity(created), { location: `${restBase}/user?username=${encodeURIComponent(name)}` });
    }
    if (user === undefined) return sendError(ex.res, 404, 'USER_NOT_FOUND', `User <${username}> does not exist`);
    if (name === undefined || lower(name) !== lower(user.name)) return sendError(ex.res, 400, 'ILLEGAL_ARGUMENT', 'The body name must match the username parameter');
    user.active = body['active'] !== false;
    user.email = str(body['email']) ?? '';
    user.firstName = str(body['first-name']) ?? '';
    user.lastName = str(body['last-name']) ?? '';
    user.displayName = str(body['display-name']) ?? '';
    sendEmpty(ex.res, 204);
  };

  const membershipRoutes = (ex: Exchange, kind: string): void => {
    const username = ex.query.get('username') ?? '';
    const user = users.get(lower(username));
    if (ex.method === 'GET') {
      const start = Number(ex.query.get('start-index') ?? 0);
      const max = Number(ex.query.get('max-results') ?? 1000);
      const names = user === undefined ? [] : [...user.groups].map((key) => groups.get(key)).filter((group) => group !== undefined);
      return sendJson(ex.res, 200, { groups: names.slice(start, start + max).map((group) => ({ name: group.name, link: groupEntity(group)['link'] })) });
    }
    if (kind !== 'direct' || (ex.method !== 'POST' && ex.method !== 'DELETE')) return sendEmpty(ex.res, 405);
    if (refuseWrites(ex)) return;
    if (user === undefined) return sendError(ex.res, 404, 'USER_NOT_FOUND', `User <${username}> does not exist`);
    const groupName = ex.method === 'POST' ? str(isJson(ex.body) ? ex.body['name'] : undefined) ?? '' : ex.query.get('groupname') ?? '';
    const group = groups.get(lower(groupName));
    if (group === undefined) return sendError(ex.res, ex.method === 'POST' ? 400 : 404, 'GROUP_NOT_FOUND', `Group <${groupName}> does not exist`);
    const member = user.groups.has(lower(group.name));
    if (ex.method === 'POST') {
      if (member) return sendError(ex.res, 409, 'MEMBERSHIP_ALREADY_EXISTS', `User <${user.name}> is already a member of <${group.name}>`);
      user.groups.add(lower(group.name));
      return sendEmpty(ex.res, 201);
    }
    if (!member) return sendError(ex.res, 404, 'MEMBERSHIP_NOT_FOUND', `User <${user.name}> is not a member of <${group.name}>`);
    user.groups.delete(lower(group.name));
    sendEmpty(ex.res, 204);
  };

  const groupRoutes = (ex: Exchange): void => {
    if (ex.method === 'GET') {
      const name = ex.query.get('groupname') ?? '';
      const group = groups.get(lower(name));
      if (group === undefined) return sendError(ex.res, 404, 'GROUP_NOT_FOUND', `Group <${name}> does not exist`);
      return sendJson(ex.res, 200, groupEntity(group));
    }
    if (ex.method !== 'POST') return sendEmpty(ex.res, 405);
    if (refuseWrites(ex)) return;
    const name = isJson(ex.body) ? str(ex.body['name']) : undefined;
    if (name === undefined || name === '') return sendError(ex.res, 400, 'INVALID_GROUP', 'A group needs a name');
    if (groups.has(lower(name))) return sendError(ex.res, 400, 'INVALID_GROUP', `Group <${name}> already exists`);
    const group = ensureGroup(name, isJson(ex.body) ? str(ex.body['description']) ?? '' : '');
    sendJson(ex.res, 201, groupEntity(group), { location: `${restBase}/group?groupname=${encodeURIComponent(group.name)}` });
  };

  const searchRoute = (ex: Exchange): void => {
    if (ex.query.get('entity-type') !== 'user') return sendError(ex.res, 400, 'ILLEGAL_ARGUMENT', 'This fake Crowd searches users only');
    const matches = parseRestriction(ex.query.get('restriction'));
    if (matches === undefined) return sendError(ex.res, 400, 'ILLEGAL_ARGUMENT', 'Unsupported CQL restriction');
    const start = Number(ex.query.get('start-index') ?? 0);
    const max = Number(ex.query.get('max-results') ?? 1000);
    const found = [...users.values()].filter(matches).slice(start, start + max);
    const expand = ex.query.get('expand') === 'user';
    sendJson(ex.res, 200, { expand: 'user', users: found.map((user) => (expand ? userEntity(user) : { name: user.name, link: userLink(user) })) });
  };

  const route = (ex: Exchange): void => {
    const { resource } = ex;
    if (resource === '/session') return sessionRoutes(ex, undefined);
    if (resource.startsWith('/session/')) {
      let token: string;
      try {
        token = decodeURIComponent(resource.slice('/session/'.length));
      } catch {
        return sendError(ex.res, 404, 'INVALID_SSO_TOKEN', 'Token does not exist');
      }
      return sessionRoutes(ex, token);
    }
    if (resource === '/config/cookie' && ex.method === 'GET') return sendJson(ex.res, 200, settings.cookieConfig);
    if (resource === '/user') return userRoutes(ex);
    if (resource === '/user/group/direct' || resource === '/user/group/nested') return membershipRoutes(ex, resource.slice('/user/group/'.length));
    if (resource === '/group') return groupRoutes(ex);
    if (resource === '/search' && ex.method === 'GET') return searchRoute(ex);
    sendText(ex.res, 404, 'text/html', NOT_FOUND_HTML);
  };

  const authenticate = (req: IncomingMessage): { name: string; app: FakeApplication } | undefined => {
    const header = req.headers.authorization ?? '';
    if (!header.startsWith('Basic ')) return undefined;
    const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const name = decoded.slice(0, colon);
    const app = applications.get(name);
    return colon > 0 && app !== undefined && app.password === decoded.slice(colon + 1) ? { name, app } : undefined;
  };

  const handle = (req: IncomingMessage, res: ServerResponse, rawBody: Buffer, url: URL, call: RecordedCall): void => {
    const caller = authenticate(req);
    if (caller === undefined) return sendText(res, 401, 'text/plain;charset=UTF-8', 'Application failed to authenticate');
    call.application = caller.name;
    const direct = normalizeAddress(req.socket.remoteAddress ?? '');
    const forwarded = req.headers['x-forwarded-for'];
    const callerAddress = resolveClientAddress(direct, Array.isArray(forwarded) ? forwarded.join(',') : forwarded, addressList(settings.trustedProxies));
    if (caller.app.remoteAddresses !== undefined && !isListed(addressList(caller.app.remoteAddresses), callerAddress)) {
      return sendText(res, 403, 'text/html;charset=utf-8', FORBIDDEN_HTML);
    }
    if (!(req.headers.accept ?? '').includes('application/json')) {
      const xml = '<error><reason>ILLEGAL_ARGUMENT</reason><message>This fake Crowd answers JSON only: send Accept: application/json</message></error>';
      return sendText(res, 406, 'application/xml', xml);
    }
    let body: unknown;
    if (rawBody.length > 0) {
      if (!(req.headers['content-type'] ?? '').includes('application/json')) return sendText(res, 415, 'text/plain', 'Unsupported Media Type');
      try {
        body = JSON.parse(rawBody.toString('utf8'));
      } catch {
        return sendError(res, 400, 'ILLEGAL_ARGUMENT', 'The body is not valid JSON');
      }
    }
    const resource = call.path.replace(/\?.*$/, '');
    route({ res, method: call.method, resource, query: url.searchParams, body, app: caller.app, appName: caller.name });
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake-crowd');
    const prefix = REST_PREFIXES.find((candidate) => url.pathname.startsWith(`${candidate}/`));
    if (prefix === undefined) return sendText(res, 404, 'text/html', NOT_FOUND_HTML);
    const call: RecordedCall = { method: req.method ?? 'GET', path: url.pathname.slice(prefix.length) + url.search, application: undefined };
    calls.push(call);
    if (settings.hang) return;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return sendText(res, 413, 'text/plain', 'Request Entity Too Large');
      const answer = (): void => handle(req, res, Buffer.concat(chunks), url, call);
      if (settings.latencyMs <= 0) return answer();
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, settings.latencyMs);
      timers.add(timer);
    });
  });

  function storeUser(input: FakeUserInput): StoredUser {
    const user: StoredUser = {
      name: input.name,
      password: input.password,
      active: input.active ?? true,
      email: input.email ?? '',
      firstName: input.firstName ?? '',
      lastName: input.lastName ?? '',
      displayName: input.displayName ?? ([input.firstName, input.lastName].filter(Boolean).join(' ') || input.name),
      groups: new Set((input.groups ?? []).map((group) => lower(ensureGroup(group).name))),
    };
    users.set(lower(input.name), user);
    return user;
  }

  const addApplication = (name: string, input: FakeApplicationInput): void => {
    applications.set(name, {
      password: input.password,
      allowGenerateUserTokens: input.allowGenerateUserTokens ?? false,
      remoteAddresses: input.remoteAddresses,
      allowedGroups: input.allowedGroups,
      allowDirectoryWrites: input.allowDirectoryWrites ?? true,
    });
  };

  for (const [name, app] of Object.entries(options.applications ?? {})) addApplication(name, app);
  const addUser = (input: FakeUserInput): void => {
    storeUser(input);
  };
  for (const user of options.users ?? []) addUser(user);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}${CONTEXT}`;
  restBase = `${baseUrl}/rest/usermanagement/1`;

  return {
    baseUrl,
    port,
    settings,
    applications,
    calls,
    sessions,
    addApplication,
    addUser,
    setUserActive(name, active) {
      const user = users.get(lower(name));
      if (user === undefined) throw new Error(`fake Crowd: no user ${name}`);
      user.active = active;
    },
    countCalls: (method, pathPrefix) => calls.filter((call) => call.method === method && call.path.startsWith(pathPrefix)).length,
    invalidateAllSessions: () => {
      sessions.clear();
      sessionTokenByOwner.clear();
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
