import { LRUCache } from 'lru-cache';

/** What the proxy remembers about a Crowd session it created from a SAML login. */
export interface SessionRecord {
  readonly token: string;
  readonly username: string;
  readonly issuer: string;
  readonly nameId: string;
  readonly nameIdFormat: string | undefined;
  readonly sessionIndex: string | undefined;
  readonly authnContextClassRef: string | undefined;
  readonly createdAtMs: number;
  /** The IdP's SessionNotOnOrAfter, when it sent one. */
  readonly sessionNotOnOrAfterMs: number | undefined;
  /** When the record may be forgotten (the longest the Crowd session can live). */
  readonly expiresAtMs: number;
  /** The IdP's group values at login (identity.groups.attribute), for apps[].access at the gate; absent when not configured. */
  readonly idpGroups?: readonly string[];
}

/**
 * Crowd token → SAML session, and SAML session (NameID + SessionIndex) → Crowd tokens. Used for session
 * lifetime and step-up decisions and by IdP-initiated logout. Several instances share it through Redis.
 */
export interface SessionStore {
  record(session: SessionRecord): Promise<void>;
  get(token: string): Promise<SessionRecord | undefined>;
  /** Tokens of the SAML session; without `sessionIndex`, every session of that NameID at that IdP. */
  findTokens(issuer: string, nameId: string, sessionIndex: string | undefined): Promise<string[]>;
  remove(token: string): Promise<void>;
}

export interface MemorySessionStoreOptions {
  readonly maxEntries?: number;
  readonly now?: () => number;
}

const subjectKey = (issuer: string, nameId: string): string => `${issuer}\u0000${nameId}`;

/** The single-instance session store (bounded; the oldest sessions go first). */
export function createMemorySessionStore(options: MemorySessionStoreOptions = {}): SessionStore {
  const now = options.now ?? Date.now;
  const bySubject = new Map<string, Set<string>>();
  const byToken = new LRUCache<string, SessionRecord>({
    max: options.maxEntries ?? 200_000,
    dispose: (record) => {
      const key = subjectKey(record.issuer, record.nameId);
      const tokens = bySubject.get(key);
      tokens?.delete(record.token);
      if (tokens?.size === 0) bySubject.delete(key);
    },
  });
  const live = (record: SessionRecord | undefined): SessionRecord | undefined => (record !== undefined && record.expiresAtMs > now() ? record : undefined);

  return {
    async record(session) {
      byToken.set(session.token, session);
      const key = subjectKey(session.issuer, session.nameId);
      let tokens = bySubject.get(key);
      if (tokens === undefined) bySubject.set(key, (tokens = new Set()));
      tokens.add(session.token);
    },
    async get(token) {
      return live(byToken.get(token));
    },
    async findTokens(issuer, nameId, sessionIndex) {
      const tokens = [...(bySubject.get(subjectKey(issuer, nameId)) ?? [])];
      return tokens.filter((token) => {
        const record = live(byToken.get(token));
        return record !== undefined && (sessionIndex === undefined || record.sessionIndex === sessionIndex);
      });
    },
    async remove(token) {
      byToken.delete(token);
    },
  };
}
