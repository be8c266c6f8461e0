/** What a validated SAML assertion says, after every check has passed: one home for the SAML adapter and the flows. */
export interface SamlProfile {
  readonly issuer: string;
  readonly nameId: string;
  readonly nameIdFormat: string | undefined;
  readonly sessionIndex: string | undefined;
  /** Attribute values by Name (and by FriendlyName when present), always arrays of strings. */
  readonly attributes: Readonly<Record<string, readonly string[]>>;
  readonly assertionId: string;
  /** InResponseTo of the response; undefined for an unsolicited (IdP-initiated) response. */
  readonly inResponseTo: string | undefined;
  /** Until when the assertion may be used (min of Conditions/NotOnOrAfter and SubjectConfirmationData/NotOnOrAfter). */
  readonly notOnOrAfterMs: number;
  readonly sessionNotOnOrAfterMs: number | undefined;
  readonly authnContextClassRef: string | undefined;
}
