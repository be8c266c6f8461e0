import { randomBytes } from 'node:crypto';
import type { IdentityConfig, UsernameStrategy } from '../config/runtime-config.js';
import { AccessDeniedError, IdentityAmbiguousError, IdentityNotFoundError, isSsoProxyError } from '../errors.js';
import { attributeValues } from '../identity/attribute-values.js';
import { newUserProfile, profileChanges, readIdpProfile, type CrowdProfile } from '../identity/crowd-profile.js';
import { planGroupChanges } from '../identity/group-plan.js';
import { usernameCandidates } from '../identity/username-candidates.js';
import type { LoginAttempt } from './login-attempt.js';
import type { CrowdGroupsPort, CrowdPort, CrowdUser, SamlProfile } from './ports.js';

export interface IdentityEstablisherDeps {
  readonly identity: IdentityConfig;
  readonly crowd: Pick<
    CrowdPort,
    'getUser' | 'searchUsersByEmail' | 'createUser' | 'updateUser' | 'getDirectGroups' | 'addUserToGroup' | 'removeUserFromGroup' | 'getGroup' | 'createGroup'
  >;
  /** Told when a login changed the user's memberships, so that the gate does not act on stale groups. */
  readonly crowdGroups: Pick<CrowdGroupsPort, 'forget'>;
}

export interface EstablishedIdentity {
  readonly user: CrowdUser;
  /** The IdP's group values (identity.groups.attribute); undefined when group handling is not configured. */
  readonly idpGroups: readonly string[] | undefined;
}

/** Entra ID sends this instead of the groups claim when the user has more than 150 groups (SAML). */
const ENTRA_GROUPS_OVERAGE = 'http://schemas.microsoft.com/claims/groups.link';
/** More candidate values than this from one strategy is not a username, it is a list: refused. */
const MAX_CANDIDATES = 10;
const CREATED_GROUP_DESCRIPTION = 'Created by crowd-sso-proxy from the IdP group mapping (identity.groups)';

type Found = { readonly kind: 'found'; readonly user: CrowdUser; readonly strategy: number } | { readonly kind: 'none'; readonly createName: string | undefined };

function describeStrategy(strategy: UsernameStrategy, index: number): string {
  const source = strategy.from === 'nameId' ? 'the NameID' : `attribute "${strategy.attribute ?? ''}"`;
  return `identity.username[${index}] (${source}, lookup by ${strategy.lookup})`;
}

/** Long, random and never stored or shown: nobody can sign in with it. The fixed tail satisfies complexity rules. */
function unusablePassword(): string {
  return `${randomBytes(48).toString('base64url')}-Aa1`;
}

/**
 * The identity step of a login: the Crowd user the assertion names (ordered username strategies, first match
 * wins, never a guess), created just in time when allowed, refused when inactive, its profile refreshed when
 * asked, and its group memberships brought in line with the IdP before any session exists.
 */
export function createIdentityEstablisher(deps: IdentityEstablisherDeps) {
  const { identity, crowd } = deps;

  function readIdpGroups(profile: SamlProfile): readonly string[] | undefined {
    const groups = identity.groups;
    if (groups === undefined) return undefined;
    const values = attributeValues(profile, groups.attribute);
    if (values.length === 0 && profile.attributes[ENTRA_GROUPS_OVERAGE] !== undefined) {
      throw new AccessDeniedError(
        `the IdP sent a group overage claim (${ENTRA_GROUPS_OVERAGE}: the user has more than 150 groups) instead of "${groups.attribute}" ` +
          '(identity.groups.attribute), so groups cannot be synced or checked. In Entra ID, send only "Groups assigned to the application" in the groups claim.',
        { detail: 'idp_groups_overage', publicMessage: 'Your identity provider did not send your group memberships, so your access cannot be checked.' },
      );
    }
    return values;
  }

  async function usersFor(strategy: UsernameStrategy, candidates: readonly string[]): Promise<CrowdUser[]> {
    const answers =
      strategy.lookup === 'username'
        ? (await Promise.all(candidates.map((name) => crowd.getUser(name)))).filter((user): user is CrowdUser => user !== null)
        : (await Promise.all(candidates.map((email) => crowd.searchUsersByEmail(email)))).flat();
    // Crowd compares usernames ignoring case: two answers naming the same user are one user.
    const byName = new Map(answers.map((user) => [user.name.toLowerCase(), user] as const));
    return [...byName.values()];
  }

  async function findUser(profile: SamlProfile, tried: string[]): Promise<Found> {
    let createName: string | undefined;
    let createNameAmbiguous: readonly string[] | undefined;
    for (const [index, strategy] of identity.username.entries()) {
      const candidates = usernameCandidates(strategy, profile);
      const described = describeStrategy(strategy, index);
      if (candidates.length === 0) {
        tried.push(`${described}: no value`);
        continue;
      }
      if (candidates.length > MAX_CANDIDATES) {
        throw new IdentityAmbiguousError(`${described} yields ${candidates.length} values; refusing to guess which one names the user`, {
          detail: 'too_many_candidates',
        });
      }
      if (strategy.lookup === 'username' && createName === undefined && createNameAmbiguous === undefined) {
        if (candidates.length === 1) createName = candidates[0];
        else createNameAmbiguous = candidates;
      }
      const users = await usersFor(strategy, candidates);
      if (users.length > 1) {
        const names = users.map((user) => `"${user.name}"`).join(', ');
        throw new IdentityAmbiguousError(
          `${described} with ${candidates.map((value) => `"${value}"`).join(', ')} matches ${users.length} Crowd users (${names}); refusing to guess. ` +
            (strategy.lookup === 'email' ? 'Give each user a unique email address in Crowd, or map the username another way.' : 'Send one value only.'),
          { detail: strategy.lookup === 'email' ? 'ambiguous_email' : 'ambiguous_username' },
        );
      }
      const [user] = users;
      if (user !== undefined) return { kind: 'found', user, strategy: index };
      tried.push(`${described}: ${candidates.map((value) => `"${value}"`).join(', ')} not found`);
    }
    if (createNameAmbiguous !== undefined && identity.provisioning.enabled) {
      throw new IdentityAmbiguousError(
        `no Crowd user matches, and the first username strategy yields several names (${createNameAmbiguous.join(', ')}); refusing to guess which account to create`,
        { detail: 'ambiguous_new_username' },
      );
    }
    return { kind: 'none', createName };
  }

  async function createUser(name: string, idp: CrowdProfile, attempt: LoginAttempt): Promise<CrowdUser> {
    const profile = newUserProfile(name, idp);
    try {
      await crowd.createUser({ name, ...profile, password: unusablePassword(), active: true });
    } catch (error) {
      // Two first logins at once: the other one created the user.
      const existing = isSsoProxyError(error) && error.detail === 'INVALID_USER' ? await crowd.getUser(name) : null;
      if (existing === null) throw error;
      return existing;
    }
    attempt.userCreated = true;
    return { name, active: true, ...profile };
  }

  async function updateProfile(user: CrowdUser, idp: CrowdProfile, attempt: LoginAttempt): Promise<CrowdUser> {
    const changes = profileChanges(user, idp);
    if (changes === undefined) return user;
    const updated: CrowdUser = { ...user, ...changes };
    try {
      await crowd.updateUser(updated);
    } catch (error) {
      if (!isSsoProxyError(error)) throw error;
      // The profile is a convenience; a directory that refuses it must not lock the user out.
      attempt.warnings.push(`profile not updated (identity.provisioning.updateProfile): ${error.message}`);
      return user;
    }
    attempt.profileUpdated.push(...Object.keys(changes));
    return updated;
  }

  async function syncGroups(user: CrowdUser, idpGroups: readonly string[], isNewUser: boolean, attempt: LoginAttempt): Promise<void> {
    const groups = identity.groups;
    if (groups === undefined) return;
    const maps = groups.map.size > 0 || groups.patterns.length > 0;
    if (!maps && !(isNewUser && groups.defaultGroups.length > 0)) return;
    const plan = planGroupChanges(groups, { idpGroups, currentGroups: await crowd.getDirectGroups(user.name), isNewUser });
    for (const group of plan.add) {
      if ((await crowd.getGroup(group)) === null) {
        if (!groups.createMissing) {
          attempt.groupsNotFound.push(group);
          continue;
        }
        try {
          await crowd.createGroup(group, CREATED_GROUP_DESCRIPTION);
          attempt.groupsCreated.push(group);
        } catch (error) {
          // Created meanwhile by a concurrent login: fine.
          if ((await crowd.getGroup(group)) === null) throw error;
        }
      }
      await crowd.addUserToGroup(user.name, group);
      attempt.groupsAdded.push(group);
    }
    for (const group of plan.remove) {
      await crowd.removeUserFromGroup(user.name, group);
      attempt.groupsRemoved.push(group);
    }
    if (plan.add.length > 0 || plan.remove.length > 0) deps.crowdGroups.forget(user.name);
  }

  return {
    async establish(profile: SamlProfile, attempt: LoginAttempt): Promise<EstablishedIdentity> {
      const idpGroups = readIdpGroups(profile);
      const { provisioning } = identity;
      const idp = readIdpProfile(provisioning.attributes, profile);
      const tried: string[] = [];
      const found = await findUser(profile, tried);
      let user: CrowdUser;
      if (found.kind === 'found') {
        user = found.user;
        attempt.strategy = found.strategy;
      } else {
        attempt.username = found.createName;
        if (!provisioning.enabled || found.createName === undefined) {
          const why = provisioning.enabled
            ? 'and no identity.username strategy with lookup "username" yields a name to create it under'
            : 'and identity.provisioning is off (create the user in Crowd, or enable it)';
          throw new IdentityNotFoundError(`no Crowd user matches the IdP identity (NameID "${profile.nameId}"), ${why}; tried ${tried.join('; ')}`, {
            detail: 'crowd_user_not_found',
          });
        }
        user = await createUser(found.createName, idp, attempt);
      }
      attempt.username = user.name;
      if (!user.active) {
        throw new AccessDeniedError(`Crowd user "${user.name}" is inactive`, {
          detail: 'INACTIVE_ACCOUNT',
          publicMessage: 'Your account is deactivated. Ask your administrator to reactivate it.',
        });
      }
      if (provisioning.updateProfile && !attempt.userCreated) user = await updateProfile(user, idp, attempt);
      await syncGroups(user, idpGroups ?? [], attempt.userCreated, attempt);
      return { user, idpGroups };
    },
  };
}

export type IdentityEstablisher = ReturnType<typeof createIdentityEstablisher>;
