import { APP_PRESETS } from './app-presets.js';
import type { RawAppRules } from './validate-app-rules.js';
import type { PathRule, AppConfig, ProxyMode, RequiredAuthnContext } from './runtime-config.js';

export type AppRulesConfig = Pick<
  AppConfig,
  'preset' | 'mode' | 'rules' | 'loginPaths' | 'loginFormPaths' | 'logoutPaths' | 'basicRealm' | 'returnParameters' | 'requiredAuthnContext' | 'emergencyAccess'
>;

export interface AppRulesDefaults {
  /** The top-level mode. */
  readonly mode: ProxyMode;
  readonly comparison: RequiredAuthnContext['comparison'];
}

/**
 * The access keys of apps[index] with its preset merged in: the app's rules first, then the preset's; login and
 * logout paths from the app when given, else from the preset; emergency access with the preset's login page and
 * login form targets.
 */
export function compileAppRules(app: RawAppRules, index: number, defaults: AppRulesDefaults, emergencySecret: string | undefined): AppRulesConfig {
  const preset = app.preset === undefined ? undefined : APP_PRESETS[app.preset];
  const ownRules: PathRule[] = (app.rules ?? []).map((rule, j) => ({
    source: `apps[${index}].rules[${j}]`,
    path: rule.path,
    pattern: rule.pattern,
    methods: rule.methods,
    action: rule.action,
  }));
  const presetRules: PathRule[] = (preset?.rules ?? []).map((rule) => ({
    source: `preset ${String(app.preset)}`,
    path: rule.path,
    pattern: rule.pattern,
    methods: undefined,
    action: rule.action,
  }));
  const loginPaths = app.loginPaths ?? preset?.loginPaths ?? [];
  const emergency = app.emergencyAccess;
  const secretHeader = emergency?.secretHeader;
  return {
    preset: app.preset,
    mode: app.mode ?? defaults.mode,
    rules: [...ownRules, ...presetRules],
    loginPaths,
    loginFormPaths: preset?.loginFormPaths ?? [],
    basicRealm: app.basicRealm ?? preset?.basicRealm,
    logoutPaths: app.logoutPaths ?? preset?.logoutPaths ?? [],
    returnParameters: preset?.returnParameters ?? ['os_destination'],
    requiredAuthnContext:
      app.requiredAuthnContext === undefined
        ? undefined
        : { classRefs: app.requiredAuthnContext.classRefs, comparison: app.requiredAuthnContext.comparison ?? defaults.comparison },
    emergencyAccess:
      emergency === undefined
        ? undefined
        : {
            // The validator made sure one of the two exists.
            path: emergency.path ?? loginPaths[0] ?? '/',
            query: emergency.query,
            allowFrom: emergency.allowFrom,
            secretHeader: secretHeader === undefined || emergencySecret === undefined ? undefined : { name: secretHeader.name.toLowerCase(), value: emergencySecret },
            loginFormPaths: preset?.loginFormPaths ?? [],
          },
  };
}
