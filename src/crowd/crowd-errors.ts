/** What Crowd's answers mean for the proxy, as typed errors from errors.ts with an administrator's words (crowd.md §2). */
import { AccessDeniedError, CrowdRejectedError, CrowdUnavailableError, type SsoProxyError } from '../errors.js';
import type { Reply } from './crowd-connection.js';

/** Everything not handled by the caller: Crowd down, this proxy refused, or an answer nobody expects. */
export function crowdFailure(reply: Reply, app: string): SsoProxyError {
  const { status, reason, label } = reply;
  const said = `${reason === undefined ? '' : ` ${reason}`}${reply.message === '' ? '' : ` ("${reply.message}")`}`;
  const detail = `HTTP ${status} ${reason ?? '(no reason)'}`;
  if (status >= 500) {
    return new CrowdUnavailableError(
      `Crowd answered ${label} with HTTP ${status}${said}. Crowd or one of its directories has a problem; see Crowd's log.`,
      { detail },
    );
  }
  if (status === 401) {
    return new CrowdRejectedError(
      `Crowd refused the application credentials (HTTP 401 on ${label}). Check crowd.applicationName ("${app}") and ` +
        `crowd.applicationPassword against the application in Crowd (Applications → ${app}), and that it is active.`,
      { detail },
    );
  }
  if (status === 403 && reason === 'APPLICATION_ACCESS_DENIED') {
    return new AccessDeniedError(
      `Crowd does not allow the user to authenticate to application "${app}" (${label}: APPLICATION_ACCESS_DENIED). ` +
        `In Crowd, allow the user or one of their groups on Applications → ${app}.`,
      { detail: 'APPLICATION_ACCESS_DENIED' },
    );
  }
  if (status === 403 && reason === 'APPLICATION_PERMISSION_DENIED') {
    return new CrowdRejectedError(
      `Crowd refused ${label}: application "${app}" lacks the directory permission for it (APPLICATION_PERMISSION_DENIED). ` +
        `In Crowd, grant the permission on the target directory under Applications → ${app}.`,
      { detail },
    );
  }
  if (status === 403 && reason === undefined) {
    return new CrowdRejectedError(
      `Crowd refused requests from this proxy's address (HTTP 403 on ${label}). In Crowd, add the IP address the ` +
        `proxy connects from to Applications → ${app} → Remote addresses.`,
      { detail },
    );
  }
  return new CrowdRejectedError(
    `Crowd answered ${label} with an unexpected HTTP ${status}${said}. ` +
      'Check crowd.baseUrl (it must include Crowd\'s context path, e.g. /crowd) and the Crowd version.',
    { detail },
  );
}

export function malformedReply(reply: Reply, what: string): CrowdRejectedError {
  return new CrowdRejectedError(
    `Crowd answered ${reply.label} with HTTP ${reply.status} but ${what}. Check crowd.baseUrl points at Crowd.`,
    { detail: `HTTP ${reply.status} malformed_entity` },
  );
}
