/**
 * Small in-memory implementations of the flows' ports (src/flows/ports.ts) for the flow unit tests. Each keeps
 * what it was asked in `calls`, so a test can tell which requests a flow made, and can be told to fail.
 */
import { IdentityNotFoundError, RelayStateError, StoreUnavailableError } from '../../../src/errors.js';
import type {
  CrowdCookieConfig,
  CrowdGroup,
  CrowdGroupsPort,
  CrowdPort,
  CrowdSession,
  CrowdUser,
  IncomingSamlMessage,
  LoginRequest,
  LoginState,
  LogoutMessage,
  NewCrowdUser,
  OutgoingSamlMessage,
  ReplayStorePort,
  SamlPort,
  SamlProfile,
  SessionRecord,
  SessionStorePort,
  StateSealerPort,
  TokenValidatorPort,
  ValidationFactor,
} from '../../../src/flows/ports.js';

export function crowdSession(token: string, username: string, overrides: Partial<CrowdSession> = {}): CrowdSession {
  return { token, username, createdAtMs: undefined, expiresAtMs: undefined, ...overrides };
}

export function crowdUser(name: string, overrides: Partial<CrowdUser> = {}): CrowdUser {
  return { name, active: true, email: undefined, firstName: undefined, lastName: undefined, displayName: undefined, ...overrides };
}

export function samlProfile(overrides: Partial<SamlProfile> = {}): SamlProfile {
  return {
    issuer: 'https://idp.example.com',
    nameId: 'alice',
    nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
    sessionIndex: '_session-1',
    attributes: {},
    assertionId: '_assertion-1',
    inResponseTo: undefined,
    notOnOrAfterMs: 2_000_000,
    sessionNotOnOrAfterMs: undefined,
    authnContextClassRef: undefined,
    ...overrides,
  };
}

export function sessionRecord(token: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    token,
    username: 'alice',
    issuer: 'https://idp.example.com',
    nameId: 'alice',
    nameIdFormat: undefined,
    sessionIndex: '_session-1',
    authnContextClassRef: undefined,
    createdAtMs: 1_000_000,
    sessionNotOnOrAfterMs: undefined,
    expiresAtMs: 1_000_000 + 86_400_000,
    ...overrides,
  };
}

/** The token cache: `known` holds cached answers per `token|cacheKey`; `crowd` says what Crowd would answer. */
export class FakeTokens implements TokenValidatorPort {
  readonly known = new Map<string, CrowdSession | null>();
  readonly crowd = new Map<string, CrowdSession>();
  readonly validated: { token: string; factors: readonly ValidationFactor[]; cacheKey: string; clientIp: string }[] = [];
  readonly forgotten: string[] = [];
  /** Thrown by `validate` when set (Crowd down). */
  failure: Error | undefined;

  remember(token: string, cacheKey: string, answer: CrowdSession | null): void {
    this.known.set(`${token}|${cacheKey}`, answer);
  }

  async validate(token: string, factors: readonly ValidationFactor[], cacheKey: string, clientIp: string): Promise<CrowdSession | null> {
    this.validated.push({ token, factors, cacheKey, clientIp });
    if (this.failure !== undefined) throw this.failure;
    const answer = this.crowd.get(token) ?? null;
    this.remember(token, cacheKey, answer);
    return answer;
  }

  cached(token: string, cacheKey: string): CrowdSession | null | undefined {
    return this.known.get(`${token}|${cacheKey}`);
  }

  forget(token: string): void {
    this.forgotten.push(token);
    for (const key of [...this.known.keys()]) if (key.startsWith(`${token}|`)) this.known.delete(key);
  }
}

type CrowdMethod = keyof CrowdPort;

/** A directory: users, groups and direct memberships, with Crowd's case-insensitive names. */
export class FakeCrowd implements CrowdPort {
  readonly users = new Map<string, CrowdUser>();
  readonly groupsByName = new Map<string, CrowdGroup>();
  /** Lower-case username → direct group names. */
  readonly memberships = new Map<string, string[]>();
  readonly sessions = new Map<string, CrowdSession>();
  readonly calls: { method: CrowdMethod; args: unknown[] }[] = [];
  /** A method listed here throws its error instead of answering. */
  readonly failures = new Map<CrowdMethod, Error>();
  cookie: CrowdCookieConfig = { name: 'crowd.token_key', domain: undefined, secure: false };
  private nextToken = 1;

  addUser(user: CrowdUser, groups: readonly string[] = []): void {
    this.users.set(user.name.toLowerCase(), user);
    this.memberships.set(user.name.toLowerCase(), [...groups]);
    for (const group of groups) this.addGroup(group);
  }

  addGroup(name: string): void {
    if (!this.groupsByName.has(name.toLowerCase())) this.groupsByName.set(name.toLowerCase(), { name, description: undefined, active: true });
  }

  groupsOf(username: string): string[] {
    return this.memberships.get(username.toLowerCase()) ?? [];
  }

  callsTo(method: CrowdMethod): unknown[][] {
    return this.calls.filter((call) => call.method === method).map((call) => call.args);
  }

  private enter(method: CrowdMethod, ...args: unknown[]): void {
    this.calls.push({ method, args });
    const failure = this.failures.get(method);
    if (failure !== undefined) throw failure;
  }

  async validateSession(token: string, factors: readonly ValidationFactor[]): Promise<CrowdSession | null> {
    this.enter('validateSession', token, factors);
    return this.sessions.get(token) ?? null;
  }

  async createSession(username: string, factors: readonly ValidationFactor[], durationSeconds?: number): Promise<CrowdSession> {
    this.enter('createSession', username, factors, durationSeconds);
    const user = this.users.get(username.toLowerCase());
    if (user === undefined) throw new IdentityNotFoundError(`no user ${username}`);
    const session = crowdSession(`token-${this.nextToken++}`, user.name);
    this.sessions.set(session.token, session);
    return session;
  }

  async invalidateSession(token: string): Promise<void> {
    this.enter('invalidateSession', token);
    this.sessions.delete(token);
  }

  async getCookieConfig(): Promise<CrowdCookieConfig> {
    this.enter('getCookieConfig');
    return this.cookie;
  }

  cachedCookieConfig(): CrowdCookieConfig | undefined {
    return this.cookie;
  }

  async getUser(username: string): Promise<CrowdUser | null> {
    this.enter('getUser', username);
    return this.users.get(username.toLowerCase()) ?? null;
  }

  async searchUsersByEmail(email: string): Promise<CrowdUser[]> {
    this.enter('searchUsersByEmail', email);
    return [...this.users.values()].filter((user) => user.email !== undefined && user.email.toLowerCase() === email.toLowerCase());
  }

  async createUser(user: NewCrowdUser): Promise<void> {
    this.enter('createUser', user);
    if (this.users.has(user.name.toLowerCase())) throw new IdentityNotFoundError(`user ${user.name} already exists`, { detail: 'INVALID_USER' });
    const { password: _password, ...profile } = user;
    this.addUser(profile);
  }

  async updateUser(user: CrowdUser): Promise<void> {
    this.enter('updateUser', user);
    this.users.set(user.name.toLowerCase(), user);
  }

  async getDirectGroups(username: string): Promise<string[]> {
    this.enter('getDirectGroups', username);
    return [...this.groupsOf(username)];
  }

  async getNestedGroups(username: string): Promise<string[]> {
    this.enter('getNestedGroups', username);
    return [...this.groupsOf(username)];
  }

  async addUserToGroup(username: string, group: string): Promise<void> {
    this.enter('addUserToGroup', username, group);
    const current = this.groupsOf(username);
    if (!current.some((name) => name.toLowerCase() === group.toLowerCase())) this.memberships.set(username.toLowerCase(), [...current, group]);
  }

  async removeUserFromGroup(username: string, group: string): Promise<void> {
    this.enter('removeUserFromGroup', username, group);
    this.memberships.set(
      username.toLowerCase(),
      this.groupsOf(username).filter((name) => name.toLowerCase() !== group.toLowerCase()),
    );
  }

  async getGroup(name: string): Promise<CrowdGroup | null> {
    this.enter('getGroup', name);
    return this.groupsByName.get(name.toLowerCase()) ?? null;
  }

  async createGroup(name: string, description: string): Promise<void> {
    this.enter('createGroup', name, description);
    this.groupsByName.set(name.toLowerCase(), { name, description, active: true });
  }
}

/** A user's groups as the gate's cache would give them; `forgotten` lists the usernames whose entry was dropped. */
export class FakeCrowdGroups implements CrowdGroupsPort {
  readonly byUser = new Map<string, readonly string[]>();
  readonly asked: string[] = [];
  readonly forgotten: string[] = [];

  async groups(username: string): Promise<readonly string[]> {
    this.asked.push(username);
    return this.byUser.get(username) ?? [];
  }

  forget(username: string): void {
    this.forgotten.push(username);
  }
}

/**
 * Session records in a map; `unavailable` makes every call throw StoreUnavailableError (Redis down). Given a clock,
 * it forgets a record at its `expiresAtMs`, as the memory and Redis stores do.
 */
export class FakeSessionStore implements SessionStorePort {
  readonly records = new Map<string, SessionRecord>();
  readonly reads: string[] = [];
  unavailable = false;

  constructor(private readonly now?: () => number) {}

  private check(): void {
    if (this.unavailable) throw new StoreUnavailableError('the store does not answer');
  }

  private live(record: SessionRecord | undefined): SessionRecord | undefined {
    return record !== undefined && (this.now === undefined || record.expiresAtMs > this.now()) ? record : undefined;
  }

  async record(session: SessionRecord): Promise<void> {
    this.check();
    this.records.set(session.token, session);
  }

  async get(token: string): Promise<SessionRecord | undefined> {
    this.reads.push(token);
    this.check();
    return this.live(this.records.get(token));
  }

  async findTokens(issuer: string, nameId: string, sessionIndex: string | undefined): Promise<string[]> {
    this.check();
    return [...this.records.values()]
      .filter((record) => this.live(record) !== undefined)
      .filter((record) => record.issuer === issuer && record.nameId === nameId && (sessionIndex === undefined || record.sessionIndex === sessionIndex))
      .map((record) => record.token);
  }

  async remove(token: string): Promise<void> {
    this.check();
    this.records.delete(token);
  }
}

export class FakeReplayStore implements ReplayStorePort {
  readonly used = new Map<string, number>();
  unavailable = false;

  async markUsed(id: string, expiresAtMs: number): Promise<boolean> {
    if (this.unavailable) throw new StoreUnavailableError('the store does not answer');
    if (this.used.has(id)) return false;
    this.used.set(id, expiresAtMs);
    return true;
  }
}

export const SEALED_PREFIX = 'sealed.';

/** Seals by reference: the state stays in memory and the sealed value names it. Anything else does not open. */
export class FakeSealer implements StateSealerPort {
  readonly states = new Map<string, LoginState>();

  async seal(state: LoginState): Promise<string> {
    const sealed = `${SEALED_PREFIX}${this.states.size + 1}`;
    this.states.set(sealed, state);
    return sealed;
  }

  async open(sealed: string): Promise<LoginState> {
    const state = this.states.get(sealed);
    if (state === undefined) throw new RelayStateError(`not a state sealed here: ${sealed}`, { detail: 'tampered' });
    return state;
  }
}

export const looksSealed = (relayState: string): boolean => relayState.startsWith(SEALED_PREFIX);

type LoginRequestOptions = Parameters<SamlPort['createLoginRequest']>[0];
type ValidateOptions = Parameters<SamlPort['validateResponse']>[0];
type LogoutRequestOptions = Parameters<SamlPort['createLogoutRequest']>[0];
type LogoutResponseOptions = Parameters<SamlPort['createLogoutResponse']>[0];

/**
 * The SAML side: `responses` maps a posted SAMLResponse to the profile it validates to (an Error is thrown),
 * `logoutMessages` maps the raw query or SAMLRequest/SAMLResponse of an incoming logout message to what it reads as.
 */
export class FakeSaml implements SamlPort {
  readonly responses = new Map<string, SamlProfile | Error>();
  readonly logoutMessages = new Map<string, LogoutMessage | Error>();
  readonly loginRequests: LoginRequestOptions[] = [];
  readonly validations: ValidateOptions[] = [];
  readonly logoutRequests: LogoutRequestOptions[] = [];
  readonly logoutResponses: LogoutResponseOptions[] = [];

  async createLoginRequest(options: LoginRequestOptions): Promise<LoginRequest> {
    this.loginRequests.push(options);
    return { redirectUrl: `https://idp.example.com/sso?id=${encodeURIComponent(options.requestId)}&RelayState=${encodeURIComponent(options.relayState)}` };
  }

  async validateResponse(options: ValidateOptions): Promise<SamlProfile> {
    this.validations.push(options);
    const answer = this.responses.get(options.samlResponse);
    if (answer === undefined) throw new Error(`no profile for SAMLResponse ${options.samlResponse}`);
    if (answer instanceof Error) throw answer;
    // Like the real validation: a solicited response must answer the request, an unsolicited one must not name one.
    return { ...answer, inResponseTo: options.expectedRequestId ?? undefined };
  }

  async checkReady(): Promise<void> {}

  async createLogoutRequest(options: LogoutRequestOptions): Promise<OutgoingSamlMessage> {
    this.logoutRequests.push(options);
    return { binding: 'redirect', url: `https://idp.example.com/slo?id=${encodeURIComponent(options.requestId)}` };
  }

  async createLogoutResponse(options: LogoutResponseOptions): Promise<OutgoingSamlMessage> {
    this.logoutResponses.push(options);
    return { binding: 'redirect', url: `https://idp.example.com/slo?InResponseTo=${encodeURIComponent(options.inResponseTo)}&partial=${options.partial}` };
  }

  async readLogoutMessage(message: IncomingSamlMessage, _sloUrl: string): Promise<LogoutMessage> {
    const key = message.binding === 'redirect' ? message.rawQuery : (message.samlRequest ?? message.samlResponse ?? '');
    const answer = this.logoutMessages.get(key);
    if (answer === undefined) throw new Error(`no logout message for ${key}`);
    if (answer instanceof Error) throw answer;
    return answer;
  }
}
