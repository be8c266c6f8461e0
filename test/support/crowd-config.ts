import type { CrowdConfig } from '../../src/config/runtime-config.js';

/** A compiled `crowd` section pointing at a fake Crowd, for tests that build the Crowd client directly. */
export function crowdConfig(baseUrl: string, application: { name: string; password: string }, overrides: Partial<CrowdConfig> = {}): CrowdConfig {
  return {
    baseUrl,
    applicationName: application.name,
    applicationPassword: application.password,
    timeoutMs: 2_000,
    cacheTtlMs: 60_000,
    negativeCacheTtlMs: 5_000,
    cacheMaxEntries: 100,
    maxValidationsInFlightPerClient: 4,
    maxValidationsPerClientPerSecond: 10,
    cookieConfigTtlMs: 60_000,
    cookie: { name: undefined, domain: undefined, secure: undefined },
    validationFactors: { mode: 'client-ip' },
    sessionDurationSeconds: undefined,
    ...overrides,
  };
}
