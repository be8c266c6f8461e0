import type { UsernameSource } from '../config/runtime-config.js';
import { IdentityNotFoundError } from '../errors.js';

/** The part of a validated SAML profile identity mapping reads. */
export interface IdentitySource {
  readonly nameId: string;
  readonly attributes: Readonly<Record<string, readonly string[]>>;
}

/**
 * The Crowd username the IdP identity names (config.saml.username). Pure.
 * Throws IdentityNotFoundError when the configured source is empty or ambiguous.
 */
export function resolveUsername(source: UsernameSource, identity: IdentitySource): string {
  if (source.from === 'nameId') {
    const nameId = identity.nameId.trim();
    if (nameId === '') throw new IdentityNotFoundError('the assertion has an empty NameID (saml.username.from = "nameId")', { detail: 'empty_name_id' });
    return nameId;
  }
  const values = (identity.attributes[source.attribute] ?? []).map((v) => v.trim()).filter((v) => v !== '');
  const distinct = [...new Set(values)];
  if (distinct.length === 0) {
    throw new IdentityNotFoundError(
      `the assertion has no value for attribute "${source.attribute}" (saml.username.attribute); attributes present: ${Object.keys(identity.attributes).join(', ') || 'none'}`,
      { detail: 'missing_username_attribute' },
    );
  }
  if (distinct.length > 1) {
    throw new IdentityNotFoundError(`attribute "${source.attribute}" (saml.username.attribute) has ${distinct.length} different values; refusing to guess`, {
      detail: 'ambiguous_username_attribute',
    });
  }
  return distinct[0] as string;
}
