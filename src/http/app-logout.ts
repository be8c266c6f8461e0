/**
 * A request to an app's logout URL: forwarded to the app as usual; when its answer comes back the SSO session ends
 * (Crowd, token cache, session record), Crowd's cookie is cleared and the signed-out marker set, and a page
 * navigation is sent on to the IdP with a signed LogoutRequest (single logout) or to the signed-out page.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LogoutFlow } from '../flows/logout.js';
import type { Logger } from '../observability/logger.js';
import { isDocumentRequest, requestKindFacts } from '../policy/request-kind.js';
import type { ResponseRewrite } from '../proxy/forwarder.js';
import { SIGNED_OUT_MESSAGES, samlMessageResponse, signedOutResponse, type PlainResponse } from './logout-responses.js';
import type { RoutedContext } from './request-context.js';

export interface AppLogoutDeps {
  readonly logger: Logger;
  readonly logout: LogoutFlow;
  /** logout.redirectUrl */
  readonly logoutRedirectUrl: string | undefined;
  /** The request's Crowd cookie values. */
  readonly crowdCookies: (req: IncomingMessage) => Promise<string[]>;
}

const MAX_TOKENS = 3;

export function createAppLogout(deps: AppLogoutDeps) {
  const { logger } = deps;

  return {
    /** `ctx` is prepared for the forward (no Crowd cookie); `signInHref`: the signed-out page's "Sign in again" link. */
    handle(req: IncomingMessage, res: ServerResponse, ctx: RoutedContext, signInHref: string): void {
      const { upstream } = ctx.site;
      const fields = { reqId: ctx.requestId, host: ctx.host, app: ctx.site.app.name };
      if (req.headers['sec-fetch-site'] === 'cross-site') {
        // Another site cannot end the user's SSO session (logout CSRF); the app applies its own XSRF check.
        logger.info({ ...fields, decision: 'forward', reason: 'cross_site_logout' }, 'a logout request from another site was forwarded without ending the SSO session');
        upstream.forward(req, res, ctx);
        return;
      }
      const document = isDocumentRequest(requestKindFacts(req.method, req.headers));
      const tokens = deps.crowdCookies(req);
      upstream.forwardWithRewrite(req, res, ctx, async (answer): Promise<ResponseRewrite> => {
        try {
          const ended = await deps.logout.endSessions((await tokens).slice(0, MAX_TOKENS));
          const setCookies = await deps.logout.logoutCookies();
          logger.info(
            { ...fields, event: 'logout', user: ended.records[0]?.username ?? ctx.user, upstreamStatus: answer.statusCode, sessions: ended.tokens.length, failures: ended.failures },
            ended.failures.length === 0 ? 'logout: the SSO session was ended' : `logout: the SSO session may not have been ended everywhere (${ended.failures.join('; ')})`,
          );
          // XHR and fetch get the app's answer; only a page can be sent on to the IdP.
          if (!document) return { kind: 'pass', setCookies };
          const record = ended.records[0];
          if (record !== undefined) {
            const message = await deps.logout.startSingleLogout(record, deps.logoutRedirectUrl);
            if (message.binding !== 'none') return replace(samlMessageResponse(message), setCookies);
            logger.info({ ...fields, reason: 'slo_unavailable' }, `logout: no single logout at the IdP: ${message.reason}`);
          }
          const signedOut = signedOutResponse({ requestId: ctx.requestId, redirectUrl: deps.logoutRedirectUrl, signInHref, message: SIGNED_OUT_MESSAGES.here });
          return replace(signedOut, setCookies);
        } catch (error) {
          logger.error({ ...fields, event: 'logout', err: error }, 'logout: ending the SSO session failed; the application answered as usual');
          return { kind: 'pass', setCookies: [] };
        }
      });
    },
  };
}

function replace(response: PlainResponse, setCookies: readonly string[]): ResponseRewrite {
  return { kind: 'replace', status: response.status, headers: response.headers, body: response.body, setCookies };
}
