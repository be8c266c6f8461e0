import { createHash } from 'node:crypto';
import type { SessionRecord, SessionStore } from './session-store.js';
import type { RedisConnection } from './redis-connection.js';

export interface RedisSessionStoreOptions {
  readonly now?: () => number;
}

const hash = (text: string): string => createHash('sha256').update(text).digest('base64url');

/** Keys hold hashes only: Crowd tokens and NameIDs never appear in key names (SCAN, SLOWLOG, MONITOR, keyspace events). */
const sessionKey = (member: string): string => `session:${member}`;
const subjectKey = (issuer: string, nameId: string): string => `subject:${hash(`${issuer}\u0000${nameId}`)}`;

/**
 * Stores the record and indexes it under its subject, atomically:
 * KEYS[1] session key, KEYS[2] subject key; ARGV record JSON, ttl ms, member, expiresAtMs, now ms.
 * The subject index is a sorted set (member = token hash, score = when the record expires), so expired members
 * are pruned on every login of that subject and the index itself expires with its longest-living member.
 */
const RECORD_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[2], string.format('%d', math.max(1, math.ceil(tonumber(last[2]) - tonumber(ARGV[5])))))
return 1
`;

const optionalString = (value: unknown): value is string | undefined => value === undefined || typeof value === 'string';
const optionalNumber = (value: unknown): value is number | undefined => value === undefined || typeof value === 'number';
const optionalStrings = (value: unknown): value is readonly string[] | undefined =>
  value === undefined || (Array.isArray(value) && value.every((item) => typeof item === 'string'));

/** A stored record back into a SessionRecord; anything that is not one (foreign or damaged value) counts as absent. */
function parseRecord(text: string | null): SessionRecord | undefined {
  if (text === null) return undefined;
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const { token, username, issuer, nameId, nameIdFormat, sessionIndex, authnContextClassRef, createdAtMs, sessionNotOnOrAfterMs, expiresAtMs, idpGroups } = value;
  if (
    typeof token !== 'string' ||
    typeof username !== 'string' ||
    typeof issuer !== 'string' ||
    typeof nameId !== 'string' ||
    typeof createdAtMs !== 'number' ||
    typeof expiresAtMs !== 'number' ||
    !optionalString(nameIdFormat) ||
    !optionalString(sessionIndex) ||
    !optionalString(authnContextClassRef) ||
    !optionalNumber(sessionNotOnOrAfterMs) ||
    !optionalStrings(idpGroups)
  ) {
    return undefined;
  }
  const record = { token, username, issuer, nameId, nameIdFormat, sessionIndex, authnContextClassRef, createdAtMs, sessionNotOnOrAfterMs, expiresAtMs };
  return idpGroups === undefined ? record : { ...record, idpGroups };
}

/**
 * Crowd token → SAML session record, and SAML subject (IdP + NameID) → its tokens, shared by every instance, so an
 * IdP-initiated logout received by any instance finds the sessions any instance created. Records expire with the
 * Crowd session they describe (PX relative to this instance's clock). Every method throws StoreUnavailableError
 * when Redis does not answer; the callers decide what that means (see README, "Several instances").
 */
export function createRedisSessionStore(connection: RedisConnection, options: RedisSessionStoreOptions = {}): SessionStore {
  const now = options.now ?? Date.now;
  const live = (record: SessionRecord | undefined, nowMs: number): SessionRecord | undefined =>
    record !== undefined && record.expiresAtMs > nowMs ? record : undefined;

  return {
    async record(session) {
      const nowMs = now();
      const ttlMs = Math.ceil(session.expiresAtMs - nowMs);
      if (ttlMs <= 0) return;
      const member = hash(session.token);
      await connection.run('record_session', (redis) =>
        redis.eval(
          RECORD_SCRIPT,
          2,
          sessionKey(member),
          subjectKey(session.issuer, session.nameId),
          JSON.stringify(session),
          ttlMs,
          member,
          session.expiresAtMs,
          nowMs,
        ),
      );
    },

    async get(token) {
      const text = await connection.run('read_session', (redis) => redis.get(sessionKey(hash(token))));
      const record = live(parseRecord(text), now());
      return record?.token === token ? record : undefined;
    },

    async findTokens(issuer, nameId, sessionIndex) {
      const nowMs = now();
      return connection.run('find_sessions', async (redis) => {
        const members = await redis.zrangebyscore(subjectKey(issuer, nameId), `(${nowMs}`, '+inf');
        if (members.length === 0) return [];
        const texts = await redis.mget(members.map(sessionKey));
        return texts
          .map((text) => live(parseRecord(text), nowMs))
          .filter(
            (record): record is SessionRecord =>
              record !== undefined &&
              record.issuer === issuer &&
              record.nameId === nameId &&
              (sessionIndex === undefined || record.sessionIndex === sessionIndex),
          )
          .map((record) => record.token);
      });
    },

    async remove(token) {
      const member = hash(token);
      await connection.run('remove_session', async (redis) => {
        const record = parseRecord(await redis.get(sessionKey(member)));
        const transaction = redis.multi().del(sessionKey(member));
        if (record !== undefined) transaction.zrem(subjectKey(record.issuer, record.nameId), member);
        for (const [error] of (await transaction.exec()) ?? []) if (error) throw error;
      });
    },
  };
}
