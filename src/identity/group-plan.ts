import type { GroupSyncConfig } from '../config/runtime-config.js';
import { distinctIgnoringCase } from './attribute-values.js';

/** Which direct memberships to change, in the order they are applied. */
export interface GroupPlan {
  readonly add: readonly string[];
  readonly remove: readonly string[];
}

export interface GroupPlanInput {
  /** The IdP's group values (identity.groups.attribute). */
  readonly idpGroups: readonly string[];
  /** The user's direct Crowd groups now. */
  readonly currentGroups: readonly string[];
  /** The user was just created: `defaultGroups` apply. */
  readonly isNewUser: boolean;
}

/**
 * The Crowd groups the IdP group values map to: the explicit table (`map`, values compared ignoring case) and
 * every pattern whose `match` covers the whole value (its `group` template filled from the match). Each group
 * once, ignoring case. Pure.
 */
export function mapIdpGroups(config: GroupSyncConfig, idpGroups: readonly string[]): string[] {
  const groups: string[] = [];
  for (const value of idpGroups) {
    groups.push(...(config.map.get(value.toLowerCase()) ?? []));
    for (const pattern of config.patterns) {
      if (pattern.match.test(value)) groups.push(value.replace(pattern.match, pattern.group).trim());
    }
  }
  return distinctIgnoringCase(groups);
}

/**
 * Whether sync-managed mode owns a Crowd group: it is a value of `map`, or has the shape of a pattern's `group`
 * template (`idp-$1` owns every group named `idp-…`). `defaultGroups` are not owned: they are given once, at
 * creation, and then left to Crowd's administrators. Pure.
 */
export function isManagedGroup(config: GroupSyncConfig, group: string): boolean {
  const key = group.toLowerCase();
  for (const groups of config.map.values()) if (groups.some((candidate) => candidate.toLowerCase() === key)) return true;
  return config.patterns.some((pattern) => pattern.produces.test(group));
}

/**
 * The membership changes for one login. `add-only`: the mapped groups (and, for a new user, the default
 * groups) the user is not yet a direct member of. `sync-managed`: the same, plus removal from every managed
 * group the IdP no longer maps the user to; groups the mapping does not manage are never touched. Pure.
 */
export function planGroupChanges(config: GroupSyncConfig, input: GroupPlanInput): GroupPlan {
  const desired = distinctIgnoringCase([...mapIdpGroups(config, input.idpGroups), ...(input.isNewUser ? config.defaultGroups : [])]);
  const current = new Set(input.currentGroups.map((group) => group.toLowerCase()));
  const wanted = new Set(desired.map((group) => group.toLowerCase()));
  const add = desired.filter((group) => !current.has(group.toLowerCase()));
  const remove =
    config.mode === 'sync-managed'
      ? input.currentGroups.filter((group) => !wanted.has(group.toLowerCase()) && isManagedGroup(config, group))
      : [];
  return { add, remove };
}
