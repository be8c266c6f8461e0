import { isSsoProxyError } from '../errors.js';
import type { LoginAttempt } from '../flows/login-attempt.js';
import type { Logger } from '../observability/logger.js';

/** Where and from whom the attempt came. */
export interface LoginAttemptFields {
  readonly reqId: string;
  readonly host: string | undefined;
  readonly app: string | undefined;
  readonly clientIp: string | undefined;
}

/**
 * The audit event: exactly one `event: "login"` line per login attempt, success or failure, with what the
 * attempt did (user created, groups added and removed). Never a token, a cookie or SAML XML. A failure is
 * also logged by the error responder with its cause chain; this line is the one to count and to keep.
 */
export function logLoginAttempt(logger: Logger, fields: LoginAttemptFields, attempt: LoginAttempt, error?: unknown): void {
  const failure = error === undefined ? undefined : isSsoProxyError(error) ? error : undefined;
  const line = {
    reqId: fields.reqId,
    host: fields.host,
    app: fields.app,
    event: 'login',
    outcome: error === undefined ? 'success' : 'failure',
    reason: error === undefined ? 'signed_in' : (failure?.reason ?? 'internal_error'),
    code: failure?.code,
    detail: failure?.detail,
    idp: attempt.idp,
    nameId: attempt.nameId,
    user: attempt.username,
    strategy: attempt.strategy === undefined ? undefined : `identity.username[${attempt.strategy}]`,
    userCreated: attempt.userCreated,
    profileUpdated: attempt.profileUpdated,
    groupsAdded: attempt.groupsAdded,
    groupsRemoved: attempt.groupsRemoved,
    groupsCreated: attempt.groupsCreated,
    groupsNotFound: attempt.groupsNotFound,
    warnings: attempt.warnings,
    unsolicited: attempt.unsolicited,
    clientIp: fields.clientIp,
  };
  if (error !== undefined) logger.warn(line, `login failed: ${failure?.reason ?? 'internal_error'}`);
  else if (attempt.warnings.length > 0 || attempt.groupsNotFound.length > 0) {
    logger.warn(line, `login succeeded with warnings${attempt.groupsNotFound.length > 0 ? ' (mapped groups missing in Crowd; see identity.groups.createMissing)' : ''}`);
  } else logger.info(line, 'login succeeded');
}
