/**
 * Logout use cases: ending Crowd sessions (an app's logout, an IdP's LogoutRequest), starting SAML single logout
 * at the IdP (SP-initiated) and finishing it when the IdP's LogoutResponse comes back. Ending a session means:
 * `DELETE /session/{token}` at Crowd (global: every app), forgetting it in the token cache, removing its SAML
 * session record, and telling the other instances to forget it too. Every step is attempted for every token; failures are counted, not thrown, so one dead Crowd
 * call never keeps the browser's cookies from being cleared.
 */
import { RelayStateError, SamlReplayError, StoreUnavailableError } from '../errors.js';
import { serializeCrowdCookieClears } from '../policy/crowd-cookie.js';
import { serializeSignedOutMarker } from '../policy/signed-out-marker.js';
import type {
  CrowdPort,
  LogoutMessage,
  IncomingSamlMessage,
  OutgoingSamlMessage,
  ReplayStorePort,
  SamlPort,
  SessionRecord,
  SessionStorePort,
  StateSealerPort,
  TokenValidatorPort,
} from './ports.js';
import { newRequestId } from './start-login.js';

export interface LogoutFlowDeps {
  readonly crowd: Pick<CrowdPort, 'invalidateSession' | 'getCookieConfig'>;
  readonly tokenValidator: Pick<TokenValidatorPort, 'forget'>;
  readonly sessions: Pick<SessionStorePort, 'get' | 'findTokens' | 'remove'>;
  readonly replay: ReplayStorePort;
  readonly saml: Pick<SamlPort, 'createLogoutRequest' | 'createLogoutResponse' | 'readLogoutMessage'>;
  readonly sealer: StateSealerPort;
  /** Called for each ended token (the session judge's cache). */
  readonly onSessionEnded: (token: string) => void;
  /**
   * Tells the other instances that the token's session ended, so that they drop their cached answers too
   * (state/session-events.ts); throws when the message could not be sent.
   */
  readonly announceEnded: (token: string) => Promise<void>;
  /** logout.suppressLoginMs: lifetime of the signed-out marker. */
  readonly suppressLoginMs: number;
}

export interface EndedSessions {
  /** The SAML session records of the ended tokens (those the proxy created). */
  readonly records: readonly SessionRecord[];
  readonly tokens: readonly string[];
  /** Steps that failed (Crowd or the store did not answer); the log should say so. */
  readonly failures: readonly string[];
}

/** What the SLO endpoint received and did. */
export type SloOutcome =
  | {
      readonly kind: 'idp-logout';
      readonly nameId: string;
      readonly ended: EndedSessions;
      /** The LogoutResponse to send the browser back to the IdP with. */
      readonly response: OutgoingSamlMessage;
    }
  | {
      readonly kind: 'sp-logout-done';
      readonly success: boolean;
      readonly status: string;
      /** logout.redirectUrl as sealed when the logout started; undefined = the signed-out page. */
      readonly redirectUrl: string | undefined;
      /**
       * False when the RelayState does not name the logout this response answers (missing, expired, another request):
       * the local logout happened anyway, so the browser still ends on the signed-out page; the log should say so.
       */
      readonly matched: boolean;
    };

export function createLogoutFlow(deps: LogoutFlowDeps) {
  async function endOne(token: string, failures: string[]): Promise<SessionRecord | undefined> {
    let record: SessionRecord | undefined;
    try {
      record = await deps.sessions.get(token);
    } catch (error) {
      failures.push(`reading the SAML session record: ${describe(error)}`);
    }
    try {
      await deps.crowd.invalidateSession(token);
    } catch (error) {
      failures.push(`DELETE /session/{token} at Crowd: ${describe(error)}`);
    }
    deps.tokenValidator.forget(token);
    deps.onSessionEnded(token);
    try {
      await deps.sessions.remove(token);
    } catch (error) {
      failures.push(`removing the SAML session record: ${describe(error)}`);
    }
    try {
      await deps.announceEnded(token);
    } catch (error) {
      failures.push(`telling the other instances (they trust their cached answer for up to crowd.cacheTtlMs): ${describe(error)}`);
    }
    return record;
  }

  /** `failures`: what already went wrong before the sessions were ended (reported with theirs). */
  async function endSessions(tokens: readonly string[], failures: string[] = []): Promise<EndedSessions> {
    const unique = [...new Set(tokens)];
    const records = await Promise.all(unique.map((token) => endOne(token, failures)));
    return { records: records.filter((record): record is SessionRecord => record !== undefined), tokens: unique, failures };
  }

  /** The sealed logout state, or undefined when it is missing, expired or not ours. */
  async function openState(relayState: string | undefined): Promise<{ requestId: string; returnUrl: string } | undefined> {
    if (relayState === undefined || relayState === '') return undefined;
    try {
      return await deps.sealer.open(relayState);
    } catch (error) {
      if (error instanceof RelayStateError) return undefined;
      throw error;
    }
  }

  return {
    endSessions,

    /** Set-Cookie values for a logout: Crowd's cookie cleared (domain and host-only) and the signed-out marker. */
    async logoutCookies(): Promise<string[]> {
      const cookie = await deps.crowd.getCookieConfig();
      const clears = cookie.domain ? [serializeCrowdCookieClears(cookie, 'domain'), serializeCrowdCookieClears(cookie, 'host-only')] : [serializeCrowdCookieClears(cookie, 'host-only')];
      return deps.suppressLoginMs === 0 ? clears : [...clears, serializeSignedOutMarker(cookie, deps.suppressLoginMs)];
    },

    /**
     * A LogoutRequest for the SAML session behind `record`, with the final destination (logout.redirectUrl, or
     * undefined for the signed-out page) sealed into RelayState together with the request ID.
     */
    async startSingleLogout(record: SessionRecord, redirectUrl: string | undefined): Promise<OutgoingSamlMessage> {
      const requestId = newRequestId();
      const relayState = await deps.sealer.seal({ requestId, returnUrl: redirectUrl ?? '' });
      return deps.saml.createLogoutRequest({
        requestId,
        nameId: record.nameId,
        nameIdFormat: record.nameIdFormat,
        sessionIndex: record.sessionIndex,
        relayState,
      });
    },

    /** A message at `/_sso/saml/slo`: an IdP's LogoutRequest (ends exactly that SAML session) or the LogoutResponse to ours. */
    async acceptLogoutMessage(message: IncomingSamlMessage, sloUrl: string): Promise<SloOutcome> {
      const read: LogoutMessage = await deps.saml.readLogoutMessage(message, sloUrl);
      if (read.kind === 'response') {
        const state = await openState(read.relayState);
        const matched = state !== undefined && read.inResponseTo === state.requestId;
        const redirectUrl = matched && state.returnUrl !== '' ? state.returnUrl : undefined;
        return { kind: 'sp-logout-done', success: read.success, status: read.status, redirectUrl, matched };
      }
      const failures: string[] = [];
      let found: string[] = [];
      try {
        if (!(await deps.replay.markUsed(read.id, read.expiresAtMs))) {
          throw new SamlReplayError(`LogoutRequest ${read.id} from ${read.issuer} was already used`, { detail: 'logout_request_reused' });
        }
        const indexes = read.sessionIndexes.length === 0 ? [undefined] : read.sessionIndexes;
        found = (await Promise.all(indexes.map((index) => deps.sessions.findTokens(read.issuer, read.nameId, index)))).flat();
      } catch (error) {
        // Without the store no session can be found: the IdP is told the logout was partial (Responder), not sent a 503 page.
        if (!(error instanceof StoreUnavailableError)) throw error;
        failures.push(`finding the sessions to end: ${error.message}`);
      }
      const ended = await endSessions(found, failures);
      const response = await deps.saml.createLogoutResponse({ inResponseTo: read.id, partial: ended.failures.length > 0, relayState: read.relayState });
      return { kind: 'idp-logout', nameId: read.nameId, ended, response };
    },
  };
}

export type LogoutFlow = ReturnType<typeof createLogoutFlow>;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
