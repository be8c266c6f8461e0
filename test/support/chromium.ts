/**
 * A real, headless Chromium (Debian package `chromium`) driven by playwright-core, for the end-to-end tests against
 * a real IdP. The browser resolves the test host names itself (`--host-resolver-rules`): `idp.sso.test` goes to the
 * IdP's loopback port and every other `*.sso.test` name to the proxy's, so requests carry the real Host header and
 * the Crowd cookie on `.sso.test` is shared by the app hosts as in production. Closed in teardown; every wait is
 * bounded.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (a wrapper script that starts the real binary with Debian's flags). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** The bound of each navigation, click and wait in the browser tests. */
export const BROWSER_TIMEOUT_MS = 15_000;
/** Starting Chromium takes seconds on a loaded 2-core machine (the suite runs two test files at once). */
const LAUNCH_TIMEOUT_MS = 60_000;

/** Why the browser tests cannot run here, or undefined when Debian's chromium is installed. */
export function chromiumAvailable(): string | undefined {
  return existsSync(CHROMIUM_PATH)
    ? undefined
    : 'chromium is not installed (Debian: apt-get install chromium); the browser tests against a real IdP are skipped';
}

export interface ChromiumOptions {
  /** The proxy's loopback port: every `*.sso.test` host but the IdP's. */
  readonly proxyPort: number;
  /** The IdP's loopback port, for `idpHost`. */
  readonly idpPort: number;
  /** Default idp.sso.test. */
  readonly idpHost?: string;
}

export interface Chromium {
  readonly browser: Browser;
  /** A fresh browser profile (own cookies) with one page; timeouts are bounded. */
  newPage(): Promise<{ readonly context: BrowserContext; readonly page: Page }>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function launchChromium(t: Teardown, options: ChromiumOptions): Promise<Chromium> {
  const idpHost = options.idpHost ?? 'idp.sso.test';
  // The first matching rule wins, so the IdP's host comes before the wildcard.
  const rules = `MAP ${idpHost} 127.0.0.1:${options.idpPort}, MAP *.sso.test 127.0.0.1:${options.proxyPort}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    timeout: LAUNCH_TIMEOUT_MS,
    args: [`--host-resolver-rules=${rules}`, '--no-sandbox', '--disable-dev-shm-usage', '--no-proxy-server'],
  });
  t.teardown(async () => {
    // Bounded: a hung browser must not hold the test file past its own limit.
    await Promise.race([browser.close(), new Promise((resolve) => setTimeout(resolve, 5_000))]);
  });
  return {
    browser,
    async newPage() {
      const context = await browser.newContext();
      context.setDefaultTimeout(BROWSER_TIMEOUT_MS);
      context.setDefaultNavigationTimeout(BROWSER_TIMEOUT_MS);
      const page = await context.newPage();
      return { context, page };
    },
  };
}
