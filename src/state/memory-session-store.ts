import { LRUCache } from 'lru-cache';
import type { SessionRecord, SessionStore } from './session-store.js';


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
