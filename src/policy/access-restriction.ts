import type { AccessRestriction } from '../config/runtime-config.js';

/**
 * apps[].access: the user may use the app when they carry any listed IdP group (as the IdP sent it in
 * identity.groups.attribute) or any listed Crowd group (direct or nested). Group names compare ignoring case,
 * as Crowd compares them. Pure.
 */
export function isAccessAllowed(access: AccessRestriction, idpGroups: readonly string[], crowdGroups: readonly string[]): boolean {
  return hasAny(access.idpGroups, idpGroups) || hasAny(access.crowdGroups, crowdGroups);
}

function hasAny(listed: readonly string[], held: readonly string[]): boolean {
  if (listed.length === 0 || held.length === 0) return false;
  const wanted = new Set(listed.map((group) => group.toLowerCase()));
  return held.some((group) => wanted.has(group.toLowerCase()));
}
