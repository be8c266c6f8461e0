import type { UsernameStrategy, UsernameTransform } from '../config/runtime-config.js';
import { attributeValues, distinctIgnoringCase, type IdentitySource } from './attribute-values.js';

/** One value through a strategy's transforms, in order (identity.username[].transforms). Pure. */
export function applyUsernameTransforms(value: string, transforms: readonly UsernameTransform[]): string {
  let result = value;
  for (const transform of transforms) {
    switch (transform.kind) {
      case 'lowercase':
        result = result.toLowerCase();
        break;
      case 'strip-email-domain': {
        const at = result.lastIndexOf('@');
        if (at >= 0) result = result.slice(0, at);
        break;
      }
      case 'strip-windows-domain': {
        const backslash = result.lastIndexOf('\\');
        if (backslash >= 0) result = result.slice(backslash + 1);
        break;
      }
      case 'replace':
        result = result.replace(transform.pattern, transform.with);
        break;
    }
  }
  return result.trim();
}

/**
 * The values one strategy yields for this assertion: the NameID or every value of the attribute (multi-valued
 * attributes give several), transformed, without empty results, each once ignoring case. An empty list means
 * the strategy does not apply and the next one is tried. Pure.
 */
export function usernameCandidates(strategy: UsernameStrategy, identity: IdentitySource): string[] {
  const raw = strategy.from === 'nameId' ? [identity.nameId.trim()] : attributeValues(identity, strategy.attribute ?? '');
  return distinctIgnoringCase(raw.filter((value) => value !== '').map((value) => applyUsernameTransforms(value, strategy.transforms)));
}
