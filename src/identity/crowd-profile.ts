import type { ProvisioningConfig } from '../config/runtime-config.js';
import { attributeValues, type IdentitySource } from './attribute-values.js';

/** The profile fields Crowd keeps for a user (names as in Crowd's user entity, camelCase). */
export interface CrowdProfile {
  readonly email: string | undefined;
  readonly firstName: string | undefined;
  readonly lastName: string | undefined;
  readonly displayName: string | undefined;
}

const FIELDS = ['email', 'firstName', 'lastName', 'displayName'] as const;

/**
 * The profile the assertion states through `identity.provisioning.attributes`: the first value of each mapped
 * attribute; undefined where the attribute is not mapped or not sent. Pure.
 */
export function readIdpProfile(attributes: ProvisioningConfig['attributes'], identity: IdentitySource): CrowdProfile {
  const first = (name: string | undefined): string | undefined => (name === undefined ? undefined : attributeValues(identity, name)[0]);
  return {
    email: first(attributes.email),
    firstName: first(attributes.firstName),
    lastName: first(attributes.lastName),
    displayName: first(attributes.displayName),
  };
}

/**
 * The profile of a user created just in time. Crowd wants every name field: what the IdP did not send is
 * derived (display name from first and last name, else the username; last name from the display name, else the
 * username), so that Crowd and the applications never show an empty name. Pure.
 */
export function newUserProfile(username: string, idp: CrowdProfile): CrowdProfile {
  const joined = [idp.firstName, idp.lastName].filter((part) => part !== undefined).join(' ');
  const displayName = idp.displayName ?? (joined === '' ? username : joined);
  return {
    email: idp.email,
    firstName: idp.firstName ?? '',
    lastName: idp.lastName ?? (idp.firstName === undefined ? displayName : ''),
    displayName,
  };
}

/**
 * The fields the IdP states differently from Crowd (email compared ignoring case), or undefined when nothing
 * changed. Fields the IdP does not send are left as Crowd has them. Pure.
 */
export function profileChanges(current: CrowdProfile, idp: CrowdProfile): Partial<CrowdProfile> | undefined {
  const changes: { -readonly [K in keyof CrowdProfile]?: string } = {};
  for (const field of FIELDS) {
    const stated = idp[field];
    if (stated === undefined) continue;
    const same = field === 'email' ? stated.toLowerCase() === (current[field] ?? '').toLowerCase() : stated === (current[field] ?? '');
    if (!same) changes[field] = stated;
  }
  return Object.keys(changes).length === 0 ? undefined : changes;
}
