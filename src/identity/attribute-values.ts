/** The part of a validated SAML profile that identity mapping reads. */
export interface IdentitySource {
  readonly nameId: string;
  /** Values by attribute Name and by FriendlyName (see saml/verified-assertion). */
  readonly attributes: Readonly<Record<string, readonly string[]>>;
}

/**
 * The values of one attribute (by Name or FriendlyName), trimmed, without empty ones, each distinct value once
 * (ignoring case, as Crowd does), in the order the IdP sent them.
 */
export function attributeValues(identity: IdentitySource, name: string): string[] {
  return distinctIgnoringCase((identity.attributes[name] ?? []).map((value) => value.trim()));
}

/** Non-empty values, each once ignoring case; the first spelling wins. */
export function distinctIgnoringCase(values: readonly string[]): string[] {
  const seen = new Set<string>();
  const result: string[] = [];
  for (const value of values) {
    const key = value.toLowerCase();
    if (value === '' || seen.has(key)) continue;
    seen.add(key);
    result.push(value);
  }
  return result;
}
