/**
 * `<pathPrefix>/saml/acs`: the IdP's form post. Reads the body within its limits, completes the login (the login flow:
 * RelayState, strict SAML validation, single use, identity, access, Crowd session), writes one audit event per attempt,
 * and sends the browser back to the page it asked for with the Crowd cookie.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BadRequestError } from '../errors.js';
import type { LoginCompleter } from '../flows/complete-login.js';
import { LoginAttempt } from '../flows/login-attempt.js';
import type { Logger } from '../observability/logger.js';
import type { ReturnUrlPolicy } from '../policy/return-url.js';
import { findCookieValues } from '../policy/cookie-header.js';
import { logLoginAttempt } from './log-login-attempt.js';
import { readFormBody, type FormBodyLimits } from './read-form-body.js';
import type { RoutedContext } from './request-context.js';
import type { RequestObserver } from './request-observer.js';
import { redirect, sendPage } from './respond.js';

export interface AcsEndpointDeps {
  readonly logger: Logger;
  /** saml.acsMaxBytes and saml.bodyTimeoutSeconds. */
  readonly formLimits: FormBodyLimits;
  readonly loginCompleter: LoginCompleter;
  readonly observer: Pick<RequestObserver, 'loginSucceeded'>;
  /** Answers a failed login: `signedInAs` (the IdP's NameID, when known) and where a new login would return. */
  readonly fail: (error: unknown, req: IncomingMessage, res: ServerResponse, ctx: RoutedContext, signedInAs: string | undefined, returnUrl: string) => void;
  readonly returnUrls: ReturnUrlPolicy;
}

export function createAcsEndpoint(deps: AcsEndpointDeps) {
async function handle(req: IncomingMessage, res: ServerResponse, ctx: RoutedContext): Promise<void> {
  const { app } = ctx.site;
  if (req.method !== 'POST') {
    sendPage(res, 'bad-request', { status: 405, message: 'The sign-in endpoint only accepts a form post from your identity provider.', requestId: ctx.requestId }, { allow: 'POST' });
    return;
  }
  ctx.isLogin = true;
  const attempt = new LoginAttempt();
  const audit = { reqId: ctx.requestId, host: ctx.host, app: app.name, clientIp: ctx.clientIp };
  let login: Awaited<ReturnType<LoginCompleter['complete']>>;
  try {
    const form = await readFormBody(req, deps.formLimits);
    const samlResponse = form.get('SAMLResponse');
    if (samlResponse === null || samlResponse === '') {
      throw new BadRequestError('the ACS post has no SAMLResponse field', { detail: 'acs_no_saml_response' });
    }
    login = await deps.loginCompleter.complete({
      host: ctx.host as string,
      samlResponse,
      relayState: form.get('RelayState') ?? undefined,
      presentedCookies: (name) => findCookieValues(req.headers.cookie, name),
      clientIp: ctx.clientIp,
      app,
      attempt,
    });
  } catch (error) {
    // One audit event per attempt, failures included; then the cause chain is logged and the page answers.
    logLoginAttempt(deps.logger, audit, attempt, error);
    deps.fail(error, req, res, ctx, attempt.nameId, attempt.returnUrl ?? deps.returnUrls.absolute(ctx.host as string, app.startPath));
    return;
  }
  ctx.user = login.username;
  deps.observer.loginSucceeded();
  logLoginAttempt(deps.logger, audit, attempt);
  if (!login.sessionRecorded) {
    deps.logger.warn(
      { reqId: ctx.requestId, host: ctx.host, app: app.name, reason: 'store_unavailable', user: login.username },
      'the login succeeded but its SAML session could not be recorded because the store (store.redis) did not answer: an IdP-initiated logout will not end this session',
    );
  }
  redirect(res, 303, login.redirectUrl, { 'set-cookie': [...login.setCookies] });
}

  return { handle };
}
