/** Shared steps of the identity tests: a login with a real signed assertion, the audit lines, a look into Crowd. */
import { createCrowdClient, type CrowdClient } from '../../../src/crowd/crowd-client.js';
import type { SamlResponseOptions } from '../../../examples/demo/saml-response.js';
import type { Browser, BrowserResponse } from '../../support/browser.js';
import { post, response, startLogin } from '../../support/saml-login.js';
import { HOSTS, PROXY_APP, type Stack } from '../../support/stack.js';

export interface LoginResult {
  readonly res: BrowserResponse;
  readonly browser: Browser;
  /** The audit event of this attempt. */
  readonly audit: Record<string, unknown>;
}

/**
 * Starts a login at `host` (a fresh browser unless one is given), posts an assertion signed by the test IdP with
 * the given subject and attributes, and returns the ACS answer and the attempt's audit line.
 */
export async function loginWith(
  stack: Stack,
  assertion: Partial<SamlResponseOptions>,
  options: { readonly host?: string; readonly browser?: Browser } = {},
): Promise<LoginResult> {
  const browser = options.browser ?? stack.browser();
  const login = await startLogin(browser, `http://${options.host ?? HOSTS.jira}/`);
  const res = await post(browser, login.acsUrl, { SAMLResponse: response(stack, login, assertion), RelayState: login.relayState });
  const lines = auditLines(stack).filter((line) => line.reqId === res.headers['x-request-id']);
  if (lines.length !== 1) throw new Error(`expected one audit line for the attempt, got ${lines.length}`);
  return { res, browser, audit: lines[0] as Record<string, unknown> };
}

/** Every `event: "login"` line so far. */
export function auditLines(stack: Stack): Record<string, unknown>[] {
  return stack.logs.filter((line) => line.event === 'login');
}

/** A Crowd client of the proxy's application, to look at users and groups the way the proxy does. */
export function crowdOf(stack: Stack, t: { teardown(fn: () => unknown): void }): CrowdClient {
  const client = createCrowdClient({ ...stack.config.crowd, applicationName: PROXY_APP.name, applicationPassword: PROXY_APP.password });
  t.teardown(() => client.close());
  return client;
}

/** Sorted lower-case group names, for comparisons that ignore order. */
export function sortedGroups(groups: readonly string[]): string[] {
  return groups.map((group) => group.toLowerCase()).sort();
}
