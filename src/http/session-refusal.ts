/**
 * When the app disagrees with the proxy: a forward that carried a session the proxy holds as valid (from its cache)
 * is answered by the app with a redirect to its own login page, or a 401. The user must not land on the app's
 * password form (a SAML-only company cannot use it), nor loop. Crowd is asked again, past the cache:
 * - the token is no longer valid (ended elsewhere, expired): forgotten, and the browser signs in again (an API
 *   client gets 401);
 * - Crowd does not answer: the bounded-time 503;
 * - Crowd says valid: the app validates differently (validation factors, its own Crowd application's permissions).
 *   A page says so, a warning names the likely cause and the keys to change, a metric counts it; the same token is
 *   answered so for a minute without asking Crowd again (never a loop, never a Crowd call per click).
 */
import type { IncomingMessage } from 'node:http';
import { LRUCache } from 'lru-cache';
import { AppRefusedSessionError, CrowdUnavailableError, isSsoProxyError, type SsoProxyError } from '../errors.js';
import type { AppConfig } from '../config/runtime-config.js';
import type { FactorSet } from '../flows/ports.js';
import type { Logger } from '../observability/logger.js';
import type { ForwardContext, ResponseRewrite } from '../proxy/forwarder.js';
import { loginStartPage } from './login-start-page.js';
import { signInLink } from './logout-responses.js';
import { errorAnswer, wantsHtml } from './respond.js';

/** How long a token the app refused while Crowd holds it valid is answered with the page without asking Crowd. */
const REFUSED_MEMORY_MS = 60_000;
const REFUSED_MEMORY_ENTRIES = 10_000;

export interface SessionRefusalDeps {
  readonly logger: Logger;
  readonly tokenValidator: {
    recheck(token: string, factors: FactorSet['factors'], cacheKey: string): Promise<unknown>;
  };
  /** Forgets a token everywhere (its cached answers, session judgement). */
  readonly forgetSession: (token: string) => void;
  readonly validationFactors: (clientIp: string) => FactorSet;
  /** crowd.validationFactors, as configured, for the warning. */
  readonly factorsMode: string;
  readonly pathPrefix: string;
  readonly publicScheme: 'http' | 'https';
  readonly onRefused?: (app: string) => void;
}

export function createSessionRefusalHandler(deps: SessionRefusalDeps) {
  const refused = new LRUCache<string, true>({ max: REFUSED_MEMORY_ENTRIES, ttl: REFUSED_MEMORY_MS });

  function refusal(req: IncomingMessage, ctx: ForwardContext, error: SsoProxyError): ResponseRewrite {
    return { kind: 'replace', ...errorAnswer(error, req, ctx.requestId), setCookies: [] };
  }

  function signInAgain(req: IncomingMessage, ctx: ForwardContext): ResponseRewrite {
    if (req.method === 'GET' && wantsHtml(req)) {
      const returnUrl = `${deps.publicScheme}://${ctx.host}${req.url ?? '/'}`;
      const page = loginStartPage(signInLink(deps.pathPrefix, returnUrl));
      return { kind: 'replace', status: 200, headers: page.headers, body: page.body, setCookies: [] };
    }
    const body = JSON.stringify({ error: 'ERR_UNAUTHENTICATED', reason: 'session-ended', message: 'Your session has ended. Sign in again.', requestId: ctx.requestId });
    return { kind: 'replace', status: 401, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body, setCookies: [] };
  }

  function appRefused(app: AppConfig, ctx: ForwardContext, answer: string, user: string | undefined): AppRefusedSessionError {
    const factors = deps.validationFactors(ctx.clientIp).factors.map((factor) => `${factor.name}=${factor.value}`).join(', ');
    return new AppRefusedSessionError(
      `app "${app.name}" answered ${answer} to ${user === undefined ? 'a user' : `"${user}"`} whose Crowd session is valid for the proxy: the app validates the token differently. ` +
        `Most likely the validation factors differ (the proxy sent ${factors || 'none'}; crowd.validationFactors is ${deps.factorsMode}: make it match what the app sends, see README "Validation factors"), ` +
        `or the app's own Crowd application does not allow the user (set apps[].crowdApplication to check as the app does)`,
      { detail: 'app_refused_session' },
    );
  }

  return async function onSessionRefused(req: IncomingMessage, app: AppConfig, ctx: ForwardContext, upstream: { readonly statusCode: number; readonly headers: Readonly<Record<string, unknown>> }): Promise<ResponseRewrite> {
    const token = ctx.sessionToken as string;
    const answer = upstream.statusCode === 401 ? 'HTTP 401' : `a redirect to its login page (${String(upstream.headers['location']).slice(0, 200)})`;
    const fields = { reqId: ctx.requestId, host: ctx.host, app: app.name };
    try {
      if (refused.has(token)) return refusal(req, ctx, appRefused(app, ctx, answer, undefined));
      const { factors, cacheKey } = deps.validationFactors(ctx.clientIp);
      const session = (await deps.tokenValidator.recheck(token, factors, cacheKey)) as { readonly username: string } | null;
      if (session === null) {
        deps.forgetSession(token);
        deps.logger.info({ ...fields, reason: 'session_ended' }, `app "${app.name}" answered ${answer}; Crowd no longer knows the session (ended elsewhere or expired): signing in again`);
        return signInAgain(req, ctx);
      }
      refused.set(token, true);
      deps.onRefused?.(app.name);
      const error = appRefused(app, ctx, answer, session.username);
      deps.logger.warn({ ...fields, code: error.code, reason: error.reason, detail: error.detail, user: session.username }, error.message);
      return refusal(req, ctx, error);
    } catch (error) {
      const failure = isSsoProxyError(error) ? error : new CrowdUnavailableError(`Crowd could not be asked again: ${String(error)}`, { cause: error });
      deps.logger[failure.entry.level]({ ...fields, code: failure.code, reason: failure.reason, detail: failure.detail }, `app "${app.name}" answered ${answer}; asking Crowd again failed: ${failure.message}`);
      return refusal(req, ctx, failure);
    }
  };
}

export type SessionRefusalHandler = ReturnType<typeof createSessionRefusalHandler>;
