/**
 * `/_sso/saml/slo`: single logout messages from the IdP, over the HTTP-Redirect (GET) or HTTP-POST binding,
 * signature required. An IdP's LogoutRequest ends exactly the Crowd sessions of that SAML session (NameID +
 * SessionIndex) and is answered with a LogoutResponse; the LogoutResponse to the proxy's own LogoutRequest ends
 * the logout on the signed-out page (or logout.redirectUrl). Forged or unsigned messages end in the responder (403),
 * except an unverifiable LogoutResponse to a browser already signed out here: the signed-out page says so (403).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isSsoProxyError } from '../errors.js';
import type { LogoutFlow } from '../flows/logout.js';
import type { CrowdCookieConfig, IncomingSamlMessage } from '../flows/ports.js';
import type { Logger } from '../observability/logger.js';
import { findCookieValues } from '../policy/cookie-header.js';
import { SIGNED_OUT_MESSAGES, samlMessageResponse, sendPlain, signInLink, signedOutResponse } from './logout-responses.js';
import { readFormBody, type FormBodyLimits } from './read-form-body.js';
import type { RoutedContext } from './request-context.js';
import { sendPage } from './respond.js';

export interface SloEndpointDeps {
  readonly logger: Logger;
  readonly publicScheme: 'http' | 'https';
  readonly pathPrefix: string;
  /** saml.acsMaxBytes and saml.bodyTimeoutSeconds, as for the ACS. */
  readonly formLimits: FormBodyLimits;
  readonly logout: LogoutFlow;
  readonly cookieConfig: () => Promise<CrowdCookieConfig>;
  readonly logoutRedirectUrl: string | undefined;
}

export function createSloEndpoint(deps: SloEndpointDeps) {
  const { logger } = deps;

  async function incoming(req: IncomingMessage, query: string): Promise<IncomingSamlMessage> {
    if (req.method === 'GET') return { binding: 'redirect', rawQuery: query };
    const form = await readFormBody(req, deps.formLimits);
    return {
      binding: 'post',
      samlRequest: form.get('SAMLRequest') ?? undefined,
      samlResponse: form.get('SAMLResponse') ?? undefined,
      relayState: form.get('RelayState') ?? undefined,
    };
  }

  return {
    async handle(req: IncomingMessage, res: ServerResponse, ctx: RoutedContext): Promise<void> {
      const host = ctx.host as string;
      const { app } = ctx.site;
      if (req.method !== 'GET' && req.method !== 'POST') {
        sendPage(res, 'bad-request', { status: 405, message: 'The sign-out endpoint only accepts messages from your identity provider.', requestId: ctx.requestId }, { allow: 'GET, POST' });
        return;
      }
      const sloUrl = `${deps.publicScheme}://${host}${deps.pathPrefix}/saml/slo`;
      const message = await incoming(req, ctx.query);
      const signInHref = signInLink(deps.pathPrefix, `${deps.publicScheme}://${host}${app.startPath}`);
      const fields = { reqId: ctx.requestId, host, app: app.name, event: 'logout' };
      let outcome: Awaited<ReturnType<LogoutFlow['acceptLogoutMessage']>>;
      try {
        outcome = await deps.logout.acceptLogoutMessage(message, sloUrl);
      } catch (error) {
        // The IdP's answer to a logout the proxy started: the proxy's part (Crowd session, cookies) was done before the
        // browser left, so a browser without a Crowd cookie is signed out here whatever the answer says. Refused all the
        // same (403), and the page says what is true. With a Crowd cookie the message cannot be the end of our logout.
        if (!isLogoutResponse(message) || !isSsoProxyError(error) || (error.code !== 'ERR_SAML_SIGNATURE' && error.code !== 'ERR_SAML_MALFORMED')) throw error;
        if (findCookieValues(req.headers.cookie, (await deps.cookieConfig()).name).length > 0) throw error;
        logger.warn(
          { ...fields, code: error.code, reason: error.reason, detail: error.detail, status: 403 },
          `single logout: the IdP's LogoutResponse was refused (${error.message}); the user is signed out here, the IdP may still have its session. Make the IdP sign logout messages (SimpleSAMLphp: sign.logout; others: sign the LogoutResponse).`,
        );
        sendPlain(res, signedOutResponse({ requestId: ctx.requestId, redirectUrl: undefined, signInHref, message: SIGNED_OUT_MESSAGES.unverified, status: 403 }), []);
        return;
      }

      if (outcome.kind === 'sp-logout-done') {
        if (outcome.matched) {
          logger.info({ ...fields, outcome: outcome.success ? 'success' : 'partial', idpStatus: outcome.status }, 'single logout: the IdP answered the LogoutRequest');
        } else {
          logger.warn(
            { ...fields, outcome: outcome.success ? 'success' : 'partial', idpStatus: outcome.status, reason: 'slo_unmatched' },
            'single logout: a signed LogoutResponse arrived whose RelayState does not name a logout this proxy started (missing, expired, or another request); the signed-out page is shown',
          );
        }
        sendPlain(res, signedOutResponse({
          requestId: ctx.requestId,
          redirectUrl: outcome.redirectUrl,
          signInHref,
          message: outcome.success ? SIGNED_OUT_MESSAGES.everywhere : SIGNED_OUT_MESSAGES.partial,
        }), []);
        return;
      }

      const { ended } = outcome;
      logger.info(
        { ...fields, outcome: ended.failures.length === 0 ? 'success' : 'partial', nameId: outcome.nameId, sessions: ended.tokens.length, failures: ended.failures },
        `IdP-initiated logout: ${ended.tokens.length} SSO session(s) ended`,
      );
      // The browser delivering the message is the user's: clear its cookies when its session was among those ended.
      const cookie = await deps.cookieConfig();
      const own = findCookieValues(req.headers.cookie, cookie.name).some((token) => ended.tokens.includes(token));
      const setCookies = own ? await deps.logout.logoutCookies() : [];
      const response = outcome.response;
      if (response.binding !== 'none') {
        sendPlain(res, samlMessageResponse(response), setCookies);
        return;
      }
      logger.warn({ ...fields, reason: 'slo_unavailable' }, `IdP-initiated logout: cannot answer the IdP: ${response.reason}`);
      sendPlain(res, signedOutResponse({ requestId: ctx.requestId, redirectUrl: deps.logoutRedirectUrl, signInHref, message: SIGNED_OUT_MESSAGES.here }), setCookies);
    },
  };
}

export type SloEndpoint = ReturnType<typeof createSloEndpoint>;

function isLogoutResponse(message: IncomingSamlMessage): boolean {
  return message.binding === 'post' ? message.samlResponse !== undefined && message.samlRequest === undefined : /(?:^|&)SAMLResponse=/.test(message.rawQuery);
}
