/** A compiled AppConfig for tests that build apps by hand: every access key at its default (no preset, enforce). */
import type { AppConfig } from '../../src/config/runtime-config.js';

export function testAppConfig(fields: Pick<AppConfig, 'name' | 'hosts' | 'upstream'> & Partial<AppConfig>): AppConfig {
  return {
    startPath: '/',
    upstreamTimeoutMs: 30_000,
    passCrowdCookieFromCredentials: false,
    preset: undefined,
    mode: 'enforce',
    rules: [],
    loginPaths: [],
    loginFormPaths: [],
    basicRealm: undefined,
    crowdApplication: undefined,
    logoutPaths: [],
    returnParameters: ['os_destination'],
    requiredAuthnContext: undefined,
    emergencyAccess: undefined,
    access: undefined,
    ...fields,
  };
}
