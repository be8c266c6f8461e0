/**
 * What one login attempt did, filled in by the login flow as it goes, so that the audit event can tell it
 * whether the attempt succeeded or failed part-way (the HTTP layer writes the event). Nothing secret goes in.
 */
export class LoginAttempt {
  /** Issuer of the validated assertion. */
  idp: string | undefined;
  nameId: string | undefined;
  /** The Crowd username the identity resolved to (or would have been created as). */
  username: string | undefined;
  /** Which identity.username strategy found the user (its index), when one did. */
  strategy: number | undefined;
  userCreated: boolean;
  /** Profile fields changed in Crowd (identity.provisioning.updateProfile). */
  profileUpdated: string[];
  groupsAdded: string[];
  groupsRemoved: string[];
  /** Groups created in Crowd (identity.groups.createMissing). */
  groupsCreated: string[];
  /** Mapped groups that do not exist in Crowd and were skipped. */
  groupsNotFound: string[];
  /** Problems that did not stop the login (e.g. a refused profile update). */
  warnings: string[];
  unsolicited: boolean | undefined;
  /** Where the login returns to (validated), once the RelayState was read. */
  returnUrl: string | undefined;

  constructor() {
    this.idp = undefined;
    this.nameId = undefined;
    this.username = undefined;
    this.strategy = undefined;
    this.userCreated = false;
    this.profileUpdated = [];
    this.groupsAdded = [];
    this.groupsRemoved = [];
    this.groupsCreated = [];
    this.groupsNotFound = [];
    this.warnings = [];
    this.unsolicited = undefined;
    this.returnUrl = undefined;
  }
}
