import { isAddressOrRange } from './address-range.js';
import type { SchemaValidation } from './validate-schema.js';
import type { PathAction, AppPresetName, ProxyMode } from './runtime-config.js';
import type { SecretSpec } from './resolve-secrets.js';

/** The access keys of one apps[] entry, as the schema guarantees them. */
export interface RawAppRules {
  readonly preset?: AppPresetName;
  readonly mode?: ProxyMode;
  readonly rules?: readonly RawPathRule[];
  readonly loginPaths?: readonly string[];
  readonly logoutPaths?: readonly string[];
  readonly basicRealm?: string;
  readonly requiredAuthnContext?: { readonly classRefs: readonly string[]; readonly comparison?: 'exact' | 'minimum' };
  readonly emergencyAccess?: RawEmergencyAccess;
}

export interface RawPathRule {
  readonly path?: string;
  readonly pattern?: string;
  readonly methods?: readonly string[];
  readonly action: PathAction;
}

export interface RawEmergencyAccess {
  readonly path?: string;
  readonly query?: string;
  readonly allowFrom: readonly string[];
  readonly secretHeader?: { readonly name: string; readonly value: SecretSpec };
}

/** Short secrets can be guessed; the header is the only thing between the internet and the app's password form. */
const MIN_EMERGENCY_SECRET_LENGTH = 16;

/**
 * What the schema cannot say about the access keys of each app: rule patterns must compile, emergency access
 * needs a login page (its own path or the preset's) and well-formed networks, its secret must be long enough.
 * Resolves each app's emergency secret (by app index).
 */
export async function validateAppRules(
  schema: SchemaValidation,
  read: (spec: SecretSpec | undefined, path: string) => Promise<string | undefined>,
  report: (path: string, message: string) => void,
): Promise<{ emergencySecrets: readonly (string | undefined)[] }> {
  const apps = schema.rawAt('apps');
  const count = Array.isArray(apps) ? apps.length : 0;
  const emergencySecrets: (string | undefined)[] = [];
  for (let i = 0; i < count; i++) {
    (schema.validAt<readonly RawPathRule[]>('apps', i, 'rules') ?? []).forEach((rule, j) => {
      if (rule.pattern === undefined) return;
      try {
        new RegExp(rule.pattern);
      } catch (error) {
        report(`apps[${i}].rules[${j}].pattern`, `not a valid regular expression (${error instanceof Error ? error.message : String(error)})`);
      }
    });
    const emergency = schema.validAt<RawEmergencyAccess>('apps', i, 'emergencyAccess');
    if (emergency === undefined) {
      emergencySecrets.push(undefined);
      continue;
    }
    const at = `apps[${i}].emergencyAccess`;
    const loginPaths = schema.validAt<readonly string[]>('apps', i, 'loginPaths');
    if (emergency.path === undefined && schema.rawAt('apps', i, 'preset') === undefined && (loginPaths === undefined || loginPaths.length === 0)) {
      report(`${at}.path`, "missing; without apps[].preset or apps[].loginPaths the proxy does not know the application's login page, e.g. \"/login.jsp\"");
    }
    emergency.allowFrom.forEach((entry, k) => {
      if (!isAddressOrRange(entry)) report(`${at}.allowFrom[${k}]`, 'not an IP address or CIDR range, e.g. "10.20.0.0/16"');
    });
    const secret = await read(emergency.secretHeader?.value, `${at}.secretHeader.value`);
    if (secret !== undefined && secret.length < MIN_EMERGENCY_SECRET_LENGTH) {
      report(`${at}.secretHeader.value`, `must be at least ${MIN_EMERGENCY_SECRET_LENGTH} characters long; generate one with: openssl rand -base64 24`);
    }
    emergencySecrets.push(secret);
  }
  return { emergencySecrets };
}
