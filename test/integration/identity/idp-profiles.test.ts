/**
 * The five IdPs administrators use most, each with the assertion shape it really sends (NameID format, attribute
 * names, group values) and the configuration the README gives for it, through the whole ACS with real signed
 * responses: a new user is created with its profile and groups and lands in Jira (restricted by group); a known
 * user is found.
 */
import t from 'tap';
import type { SamlResponseOptions } from '../../../examples/demo/saml-response.js';
import { PROXY_APP, startStack } from '../../support/stack.js';
import { crowdOf, loginWith, sortedGroups } from './identity-kit.js';

const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const UNSPECIFIED_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';

interface IdpProfile {
  readonly name: string;
  /** The `identity` section and Jira's `access`, as in the README example for this IdP. */
  readonly identity: Record<string, unknown>;
  readonly jiraAccess: Record<string, unknown>;
  /** A first login of Bob Brown, unknown to Crowd. */
  readonly newUser: Partial<SamlResponseOptions>;
  /** Crowd user and direct groups expected after it. */
  readonly expectedUser: { readonly name: string; readonly email: string; readonly firstName: string; readonly lastName: string; readonly displayName: string };
  readonly expectedGroups: readonly string[];
  /** A login of alice, known to Crowd (alice@example.com). */
  readonly knownUser: Partial<SamlResponseOptions>;
}

// Microsoft Entra ID: NameID = user.userprincipalname (emailAddress format); default claims under
// http://schemas.xmlsoap.org/ws/2005/05/identity/claims/… and http://schemas.microsoft.com/identity/claims/…;
// the groups claim carries group object ids; see https://learn.microsoft.com/entra/identity-platform/reference-saml-tokens
const ENTRA = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';
const ENTRA_MS = 'http://schemas.microsoft.com/identity/claims';
const ENTRA_GROUPS = 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups';
const ENTRA_JIRA_USERS = '5e0f6b3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
const ENTRA_ADMINS = '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d';
const entraAttributes = (upn: string, given: string, surname: string, groups: readonly string[]): Record<string, string | readonly string[]> => ({
  [`${ENTRA_MS}/tenantid`]: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  [`${ENTRA_MS}/objectidentifier`]: '0b2f1c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  [`${ENTRA}/name`]: upn,
  [`${ENTRA}/emailaddress`]: upn.toLowerCase(),
  [`${ENTRA}/givenname`]: given,
  [`${ENTRA}/surname`]: surname,
  [`${ENTRA_MS}/displayname`]: `${given} ${surname}`,
  [`${ENTRA_MS}/identityprovider`]: 'https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/',
  [ENTRA_GROUPS]: groups,
});

// Okta: NameID = the Okta username (an email, EmailAddress format); attribute statements and group attribute
// statements are named by the administrator (Basic name format), groups filtered by "Matches regex";
// see https://help.okta.com/en-us/content/topics/apps/define-group-attribute-statements.htm
// AD FS: claim rules send Windows account name (DOMAIN\user), UPN, e-mail and Token-Groups (unqualified names) as
// http://schemas.microsoft.com/ws/2008/06/identity/claims/windowsaccountname, …/claims/upn, …/claims/emailaddress and
// http://schemas.xmlsoap.org/claims/Group; see
// https://support.ptc.com/help/identity_and_access_management/en/iam/ADFSAddAttributesMappingToRelyingParty.html
const ADFS_GROUP = 'http://schemas.xmlsoap.org/claims/Group';
const ADFS_WINDOWS = 'http://schemas.microsoft.com/ws/2008/06/identity/claims/windowsaccountname';
// Keycloak: NameID "username" (unspecified); the built-in "X500 email/givenName/surname" mappers send
// urn:oid:1.2.840.113549.1.9.1 / urn:oid:2.5.4.42 / urn:oid:2.5.4.4 with FriendlyNames email / givenName / surname;
// the "Group list" mapper sends attribute "member" with full group paths by default (keycloak/keycloak:
// services/src/main/java/org/keycloak/protocol/saml/SamlProtocolFactory.java, mappers/GroupMembershipMapper.java).
const KC_EMAIL = 'urn:oid:1.2.840.113549.1.9.1';
const KC_GIVEN = 'urn:oid:2.5.4.42';
const KC_SURNAME = 'urn:oid:2.5.4.4';
const keycloakFriendlyNames = { [KC_EMAIL]: 'email', [KC_GIVEN]: 'givenName', [KC_SURNAME]: 'surname' };
// Google Workspace: NameID = Basic Information > Primary email; attribute names are chosen in the app's
// attribute mapping; "Group membership" sends the names of the selected groups the user belongs to (at most 75);
// see https://support.google.com/a/answer/11143403

const profiles: readonly IdpProfile[] = [
  {
    name: 'Microsoft Entra ID',
    identity: {
      username: [{ from: 'attribute', attribute: `${ENTRA}/name`, transforms: ['strip-email-domain', 'lowercase'] }],
      provisioning: {
        enabled: true,
        attributes: { email: `${ENTRA}/emailaddress`, firstName: `${ENTRA}/givenname`, lastName: `${ENTRA}/surname`, displayName: `${ENTRA_MS}/displayname` },
      },
      groups: {
        attribute: ENTRA_GROUPS,
        mode: 'sync-managed',
        map: { [ENTRA_JIRA_USERS]: ['jira-software-users'], [ENTRA_ADMINS]: ['jira-administrators'] },
      },
    },
    jiraAccess: { idpGroups: [ENTRA_JIRA_USERS], contact: 'the IT service desk' },
    newUser: { nameId: 'Bob.Brown@contoso.com', nameIdFormat: EMAIL_FORMAT, attributes: entraAttributes('Bob.Brown@contoso.com', 'Bob', 'Brown', [ENTRA_JIRA_USERS]) },
    expectedUser: { name: 'bob.brown', email: 'bob.brown@contoso.com', firstName: 'Bob', lastName: 'Brown', displayName: 'Bob Brown' },
    expectedGroups: ['jira-software-users'],
    knownUser: { nameId: 'alice@contoso.com', nameIdFormat: EMAIL_FORMAT, attributes: entraAttributes('Alice@contoso.com', 'Alice', 'Adams', [ENTRA_JIRA_USERS]) },
  },
  {
    name: 'Okta',
    identity: {
      username: [{ from: 'nameId', lookup: 'email' }, { from: 'nameId', transforms: ['strip-email-domain', 'lowercase'] }],
      provisioning: { enabled: true, attributes: { email: 'email', firstName: 'firstName', lastName: 'lastName' } },
      groups: { attribute: 'groups', mode: 'add-only', patterns: [{ match: 'Jira (.+)', group: 'jira-$1' }], map: { Everyone: ['okta-users'] } },
    },
    jiraAccess: { crowdGroups: ['jira-users'] },
    newUser: {
      nameId: 'bob.brown@example.com',
      nameIdFormat: EMAIL_FORMAT,
      attributes: { firstName: 'Bob', lastName: 'Brown', email: 'bob.brown@example.com', groups: ['Everyone', 'Jira users'] },
    },
    expectedUser: { name: 'bob.brown', email: 'bob.brown@example.com', firstName: 'Bob', lastName: 'Brown', displayName: 'Bob Brown' },
    expectedGroups: ['jira-users', 'okta-users'],
    knownUser: { nameId: 'ALICE@example.com', nameIdFormat: EMAIL_FORMAT, attributes: { groups: ['Jira users'] } },
  },
  {
    name: 'AD FS',
    identity: {
      username: [{ from: 'attribute', attribute: ADFS_WINDOWS, transforms: ['strip-windows-domain', 'lowercase'] }],
      provisioning: {
        enabled: true,
        attributes: { email: `${ENTRA}/emailaddress`, firstName: `${ENTRA}/givenname`, lastName: `${ENTRA}/surname` },
      },
      groups: {
        attribute: ADFS_GROUP,
        mode: 'sync-managed',
        map: { 'GG-Jira-Users': ['jira-software-users'], 'GG-Jira-Admins': ['jira-administrators'] },
        patterns: [{ match: 'GG-Team-(.+)', group: 'team-$1' }],
        defaultGroups: ['staff'],
      },
    },
    jiraAccess: { idpGroups: ['GG-Jira-Users'] },
    newUser: {
      nameId: 'CORP\\bbrown',
      nameIdFormat: UNSPECIFIED_FORMAT,
      attributes: {
        [ADFS_WINDOWS]: 'CORP\\BBrown',
        [`${ENTRA}/upn`]: 'bbrown@corp.example.com',
        [`${ENTRA}/emailaddress`]: 'bob.brown@example.com',
        [`${ENTRA}/givenname`]: 'Bob',
        [`${ENTRA}/surname`]: 'Brown',
        [ADFS_GROUP]: ['Domain Users', 'GG-Jira-Users', 'GG-Team-Payments'],
      },
    },
    expectedUser: { name: 'bbrown', email: 'bob.brown@example.com', firstName: 'Bob', lastName: 'Brown', displayName: 'Bob Brown' },
    expectedGroups: ['jira-software-users', 'staff', 'team-payments'],
    knownUser: { nameId: 'CORP\\alice', attributes: { [ADFS_WINDOWS]: 'CORP\\alice', [ADFS_GROUP]: ['Domain Users', 'GG-Jira-Users'] } },
  },
  {
    name: 'Keycloak',
    identity: {
      username: [{ from: 'nameId' }],
      provisioning: { enabled: true, updateProfile: true, attributes: { email: 'email', firstName: 'givenName', lastName: 'surname' } },
      groups: { attribute: 'member', mode: 'add-only', patterns: [{ match: '/atlassian/(.+)', group: '$1' }], createMissing: true },
    },
    jiraAccess: { idpGroups: ['/atlassian/jira-software-users'] },
    newUser: {
      nameId: 'bob.brown',
      nameIdFormat: UNSPECIFIED_FORMAT,
      attributes: {
        [KC_EMAIL]: 'bob.brown@example.com',
        [KC_GIVEN]: 'Bob',
        [KC_SURNAME]: 'Brown',
        member: ['/atlassian/jira-software-users', '/atlassian/confluence-users', '/vpn-users'],
      },
      friendlyNames: keycloakFriendlyNames,
    },
    expectedUser: { name: 'bob.brown', email: 'bob.brown@example.com', firstName: 'Bob', lastName: 'Brown', displayName: 'Bob Brown' },
    expectedGroups: ['confluence-users', 'jira-software-users'],
    knownUser: { nameId: 'alice', attributes: { [KC_EMAIL]: 'alice@example.com', member: ['/atlassian/jira-software-users'] }, friendlyNames: keycloakFriendlyNames },
  },
  {
    name: 'Google Workspace',
    identity: {
      username: [{ from: 'nameId', lookup: 'email' }, { from: 'nameId', transforms: ['strip-email-domain', 'lowercase'] }],
      provisioning: { enabled: true, attributes: { email: 'email', firstName: 'firstName', lastName: 'lastName' } },
      groups: { attribute: 'groups', map: { 'Jira Users': ['jira-software-users'], Engineering: ['engineering'] }, defaultGroups: ['google-users'] },
    },
    jiraAccess: { crowdGroups: ['jira-software-users'], contact: 'it@example.com' },
    newUser: {
      nameId: 'bob.brown@example.com',
      nameIdFormat: UNSPECIFIED_FORMAT,
      attributes: { firstName: 'Bob', lastName: 'Brown', email: 'bob.brown@example.com', groups: ['Jira Users', 'Engineering'] },
    },
    expectedUser: { name: 'bob.brown', email: 'bob.brown@example.com', firstName: 'Bob', lastName: 'Brown', displayName: 'Bob Brown' },
    expectedGroups: ['engineering', 'google-users', 'jira-software-users'],
    knownUser: { nameId: 'alice@example.com', attributes: { groups: ['Jira Users'] } },
  },
];

for (const profile of profiles) {
  t.test(`${profile.name}: a first login creates the user with its profile and groups; a known user is found`, async (t) => {
    const stack = await startStack(t, {
      crowd: {
        applications: {
          [PROXY_APP.name]: { password: PROXY_APP.password, allowGenerateUserTokens: true },
          jira: { password: 'jira-pw' },
          confluence: { password: 'confluence-pw' },
        },
        // The groups exist in Crowd already (created with a member); Keycloak's example creates missing ones.
        users: [
          { name: 'alice', email: 'alice@example.com', firstName: 'Alice', lastName: 'Adams', groups: ['jira-software-users', 'jira-users'] },
          { name: 'groups-holder', groups: ['jira-administrators', 'okta-users', 'staff', 'team-payments', 'engineering', 'google-users'] },
        ],
      },
      config: { identity: profile.identity },
      apps: { jira: { access: profile.jiraAccess } },
    });
    const crowd = crowdOf(stack, t);

    const first = await loginWith(stack, profile.newUser);
    t.equal(first.res.status, 303, 'signed in');
    t.match(first.audit, { outcome: 'success', userCreated: true, user: profile.expectedUser.name, nameId: profile.newUser.nameId });
    t.same(await crowd.getUser(profile.expectedUser.name), { ...profile.expectedUser, active: true });
    t.same(sortedGroups(await crowd.getDirectGroups(profile.expectedUser.name)), profile.expectedGroups);
    const page = await first.browser.navigate(first.res.headers.location as string);
    t.match(page.body, new RegExp(`Logged in as <b>${profile.expectedUser.name}</b>`), 'lands in Jira');

    const known = await loginWith(stack, profile.knownUser);
    t.equal(known.res.status, 303);
    t.match(known.audit, { outcome: 'success', userCreated: false, user: 'alice' });
  });
}
