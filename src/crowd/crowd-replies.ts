/** Crowd's JSON entities as the proxy reads them: fields by either spelling Crowd uses, malformed answers refused. */
import type { Reply } from './crowd-connection.js';
import { malformedReply } from './crowd-errors.js';
import type { CrowdSession, CrowdUser, ValidationFactor } from './crowd-types.js';

export type Json = Record<string, unknown>;

export function isJsonObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function stringField(value: Json, ...names: string[]): string | undefined {
  for (const name of names) {
    const field = value[name];
    if (typeof field === 'string') return field;
  }
  return undefined;
}

export function epochMsField(value: Json, ...names: string[]): number | undefined {
  for (const name of names) {
    const field = value[name];
    if (typeof field === 'number' && Number.isFinite(field)) return field;
    if (typeof field === 'string' && /^\d+$/.test(field)) return Number(field);
  }
  return undefined;
}

/** Java client rule: no leading dot; blank or `localhost` means a host-only cookie. */
export function normalizeCookieDomain(domain: string | undefined): string | undefined {
  if (domain === undefined) return undefined;
  const trimmed = domain.trim().replace(/^\./, '');
  return trimmed === '' || trimmed.toLowerCase() === 'localhost' ? undefined : trimmed;
}

/** Only `name` and `value` go on the wire, whatever else the caller's objects carry. */
export function wireFactors(factors: readonly ValidationFactor[]): ValidationFactor[] {
  return factors.map(({ name, value }) => ({ name, value }));
}

export function toSession(reply: Reply): CrowdSession {
  const entity = reply.json;
  const user = isJsonObject(entity) ? entity['user'] : undefined;
  const token = isJsonObject(entity) ? stringField(entity, 'token') : undefined;
  const username = isJsonObject(user) ? stringField(user, 'name') : undefined;
  if (!isJsonObject(entity) || token === undefined || token === '' || username === undefined || username === '') {
    throw malformedReply(reply, 'the session has no token or user.name');
  }
  return {
    token,
    username,
    createdAtMs: epochMsField(entity, 'created-date', 'createdDate'),
    expiresAtMs: epochMsField(entity, 'expiry-date', 'expiryDate'),
  };
}

export function toUser(reply: Reply, entity: unknown): CrowdUser {
  const name = isJsonObject(entity) ? stringField(entity, 'name') : undefined;
  if (!isJsonObject(entity) || name === undefined || name === '') throw malformedReply(reply, 'a user has no name');
  return {
    name,
    active: entity['active'] === true,
    email: stringField(entity, 'email'),
    firstName: stringField(entity, 'first-name', 'firstName'),
    lastName: stringField(entity, 'last-name', 'lastName'),
    displayName: stringField(entity, 'display-name', 'displayName'),
  };
}

export function listOf(reply: Reply, field: string): unknown[] {
  const list = isJsonObject(reply.json) ? reply.json[field] : undefined;
  if (!Array.isArray(list)) throw malformedReply(reply, `the body has no "${field}" list`);
  return list;
}
