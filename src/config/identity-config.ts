/**
 * The `identity` section and `apps[].access`: their raw shape, the checks the schema cannot make (regular
 * expressions, templates, cross-references) and their compilation, regular expressions built once at start-up.
 */
import type { SchemaValidation } from './validate-schema.js';
import type { AccessRestriction, GroupPattern, IdentityConfig, UsernameStrategy, UsernameTransform } from './runtime-config.js';

export type RawUsernameTransform =
  | 'lowercase'
  | 'strip-email-domain'
  | 'strip-windows-domain'
  | { readonly replace: { readonly pattern: string; readonly with: string } };

export interface RawUsernameStrategy {
  readonly from: 'nameId' | 'attribute';
  readonly attribute?: string;
  readonly transforms?: readonly RawUsernameTransform[];
  readonly lookup?: 'username' | 'email';
}

export interface RawGroupSync {
  readonly attribute: string;
  readonly mode?: 'add-only' | 'sync-managed';
  readonly map?: Readonly<Record<string, readonly string[]>>;
  readonly patterns?: readonly { readonly match: string; readonly group: string }[];
  readonly defaultGroups?: readonly string[];
  readonly createMissing?: boolean;
}

export interface RawIdentity {
  readonly username?: readonly RawUsernameStrategy[];
  readonly provisioning?: {
    readonly enabled?: boolean;
    readonly updateProfile?: boolean;
    readonly attributes?: { readonly email?: string; readonly firstName?: string; readonly lastName?: string; readonly displayName?: string };
  };
  readonly groups?: RawGroupSync;
}

export interface RawAccessRestriction {
  readonly idpGroups?: readonly string[];
  readonly crowdGroups?: readonly string[];
  readonly contact?: string;
}

/** Defaults by key path; compile-config merges them into CONFIG_DEFAULTS (equal to the schema's `default`s). */
export const IDENTITY_DEFAULTS = {
  'identity.username': [{ from: 'nameId' }],
  'identity.username[].transforms': [],
  'identity.username[].lookup': 'username',
  'identity.provisioning.enabled': false,
  'identity.provisioning.updateProfile': false,
  'identity.groups.mode': 'add-only',
  'identity.groups.map': {},
  'identity.groups.patterns': [],
  'identity.groups.defaultGroups': [],
  'identity.groups.createMissing': false,
  'apps[].access.idpGroups': [],
  'apps[].access.crowdGroups': [],
} as const;

/** `$1`…`$99`, `$<name>`, `$&`; `$$` is a literal `$`. */
const TEMPLATE_REFERENCE = /\$(?:\$|&|(\d{1,2})|<([^>]*)>)/g;

/** Why `source` is not a usable regular expression, or undefined when it is. */
function regexProblem(source: string): string | undefined {
  try {
    new RegExp(source);
    return undefined;
  } catch (error) {
    return `not a valid regular expression (${error instanceof Error ? error.message : String(error)})`;
  }
}

/** `source` must match a whole value. Valid on its own, so wrapping it cannot change its meaning. */
function wholeMatch(source: string): RegExp {
  return new RegExp(`^(?:${source})$`, 'i');
}

/** Every Crowd group name a template can produce: its fixed text, anything in place of a reference. */
function templateShape(template: string): RegExp {
  let source = '^';
  let last = 0;
  for (const reference of template.matchAll(TEMPLATE_REFERENCE)) {
    source += escapeRegex(template.slice(last, reference.index));
    source += reference[0] === '$$' ? '\\$' : '.*';
    last = reference.index + reference[0].length;
  }
  return new RegExp(`${source}${escapeRegex(template.slice(last))}$`, 'i');
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Problems of one `{match, group}` pattern, given that `match` compiles. */
function templateProblems(match: string, template: string, syncManaged: boolean): string[] {
  const captures = new RegExp(`(?:${match})|`).exec('') as RegExpExecArray;
  const groupCount = captures.length - 1;
  const names = new Set(Object.keys(captures.groups ?? {}));
  const problems: string[] = [];
  for (const reference of template.matchAll(TEMPLATE_REFERENCE)) {
    const [, number, name] = reference;
    if (number !== undefined && (Number(number) === 0 || Number(number) > groupCount)) {
      problems.push(`refers to $${number}, but "match" has ${groupCount === 0 ? 'no capture group' : `${groupCount} capture group${groupCount === 1 ? '' : 's'}`}`);
    }
    if (name !== undefined && !names.has(name)) problems.push(`refers to $<${name}>, but "match" has no capture group named "${name}"`);
  }
  if (syncManaged && template.replace(TEMPLATE_REFERENCE, '').trim() === '') {
    problems.push(
      'in mode "sync-managed" the template needs fixed text around its references (e.g. "idp-$1"): a pattern manages every Crowd group ' +
        'of its shape, and a bare reference would manage every group, removing users from groups the IdP knows nothing about',
    );
  }
  return problems;
}

/** What the schema cannot check in `identity` and `apps[].access`. Reports with key paths. */
export function checkIdentityConfig(schema: SchemaValidation, report: (path: string, message: string) => void): void {
  const strategies = schema.validAt<readonly RawUsernameStrategy[]>('identity', 'username');
  strategies?.forEach((strategy, i) => {
    (strategy.transforms ?? []).forEach((transform, j) => {
      if (typeof transform === 'string') return;
      const problem = regexProblem(transform.replace.pattern);
      if (problem !== undefined) report(`identity.username[${i}].transforms[${j}].replace.pattern`, problem);
    });
  });
  const provisioningEnabled = schema.validAt<boolean>('identity', 'provisioning', 'enabled') === true;
  if (provisioningEnabled && strategies !== undefined && !strategies.some((strategy) => (strategy.lookup ?? 'username') === 'username')) {
    report('identity.provisioning.enabled', 'needs an identity.username strategy with lookup "username": its value is the name the new Crowd user gets');
  }

  const groups = schema.validAt<RawGroupSync>('identity', 'groups');
  const syncManaged = groups?.mode === 'sync-managed';
  (groups?.patterns ?? []).forEach((pattern, i) => {
    const problem = regexProblem(pattern.match);
    if (problem !== undefined) {
      report(`identity.groups.patterns[${i}].match`, problem);
      return;
    }
    for (const message of templateProblems(pattern.match, pattern.group, syncManaged)) report(`identity.groups.patterns[${i}].group`, message);
  });

  const apps = schema.rawAt('apps');
  const count = Array.isArray(apps) ? apps.length : 0;
  const groupsConfigured = schema.rawAt('identity', 'groups') !== undefined;
  for (let i = 0; i < count; i++) {
    const access = schema.validAt<RawAccessRestriction>('apps', i, 'access');
    if (access === undefined) continue;
    const idpGroups = access.idpGroups ?? [];
    if (idpGroups.length === 0 && (access.crowdGroups ?? []).length === 0) {
      report(`apps[${i}].access`, 'lists no group: set idpGroups or crowdGroups (or leave access out to let in everyone Crowd lets in)');
    }
    if (idpGroups.length > 0 && !groupsConfigured) {
      report(`apps[${i}].access.idpGroups`, 'needs identity.groups.attribute: the SAML attribute in which the IdP sends the user\'s groups');
    }
  }
}

function compileTransform(transform: RawUsernameTransform): UsernameTransform {
  if (typeof transform === 'string') return { kind: transform };
  return { kind: 'replace', pattern: new RegExp(transform.replace.pattern, 'g'), with: transform.replace.with };
}

function compileStrategy(strategy: RawUsernameStrategy): UsernameStrategy {
  return {
    from: strategy.from,
    attribute: strategy.attribute,
    transforms: (strategy.transforms ?? IDENTITY_DEFAULTS['identity.username[].transforms']).map(compileTransform),
    lookup: strategy.lookup ?? IDENTITY_DEFAULTS['identity.username[].lookup'],
  };
}

/** IdP values compared ignoring case: keys differing only in case are one key, their groups merged. */
function compileGroupMap(map: Readonly<Record<string, readonly string[]>>): ReadonlyMap<string, readonly string[]> {
  const compiled = new Map<string, readonly string[]>();
  for (const [value, groups] of Object.entries(map)) {
    const key = value.toLowerCase();
    compiled.set(key, [...(compiled.get(key) ?? []), ...groups]);
  }
  return compiled;
}

/** A checked `identity` section → IdentityConfig, defaults applied and regular expressions compiled. */
export function compileIdentityConfig(raw: RawIdentity | undefined): IdentityConfig {
  const attributes = raw?.provisioning?.attributes;
  const groups = raw?.groups;
  return {
    username: (raw?.username ?? IDENTITY_DEFAULTS['identity.username']).map(compileStrategy),
    provisioning: {
      enabled: raw?.provisioning?.enabled ?? IDENTITY_DEFAULTS['identity.provisioning.enabled'],
      updateProfile: raw?.provisioning?.updateProfile ?? IDENTITY_DEFAULTS['identity.provisioning.updateProfile'],
      attributes: { email: attributes?.email, firstName: attributes?.firstName, lastName: attributes?.lastName, displayName: attributes?.displayName },
    },
    groups:
      groups === undefined
        ? undefined
        : {
            attribute: groups.attribute,
            mode: groups.mode ?? IDENTITY_DEFAULTS['identity.groups.mode'],
            map: compileGroupMap(groups.map ?? IDENTITY_DEFAULTS['identity.groups.map']),
            patterns: (groups.patterns ?? IDENTITY_DEFAULTS['identity.groups.patterns']).map(
              (pattern): GroupPattern => ({ match: wholeMatch(pattern.match), group: pattern.group, produces: templateShape(pattern.group) }),
            ),
            defaultGroups: groups.defaultGroups ?? IDENTITY_DEFAULTS['identity.groups.defaultGroups'],
            createMissing: groups.createMissing ?? IDENTITY_DEFAULTS['identity.groups.createMissing'],
          },
  };
}

/** A checked `apps[].access` → AccessRestriction (undefined = unrestricted). */
export function compileAccessRestriction(raw: RawAccessRestriction | undefined): AccessRestriction | undefined {
  if (raw === undefined) return undefined;
  return {
    idpGroups: raw.idpGroups ?? IDENTITY_DEFAULTS['apps[].access.idpGroups'],
    crowdGroups: raw.crowdGroups ?? IDENTITY_DEFAULTS['apps[].access.crowdGroups'],
    contact: raw.contact,
  };
}
