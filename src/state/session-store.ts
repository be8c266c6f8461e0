/** The session store's data and contract: one home for both stores (memory, Redis) and the flows' port. */

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
