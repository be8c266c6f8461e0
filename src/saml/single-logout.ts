/**
 * SAML single logout for the service provider: the signed LogoutRequest the proxy sends to the IdP
 * (SP-initiated), the LogoutResponse it answers an IdP's LogoutRequest with, and strict reading of both
 * message kinds arriving at `/_sso/saml/slo` over the HTTP-Redirect or HTTP-POST binding. Incoming messages
 * must be signed by a pinned IdP certificate; an unsigned or forged one is a SamlSignatureError.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { SamlMalformedError } from '../errors.js';
import { decodeSamlResponse } from './decode-saml-response.js';
import type { IdpMetadata } from './idp-metadata.js';
import { logoutRequestXml, logoutResponseXml, readLogoutMessage, type IncomingLogoutRequest, type IncomingLogoutResponse } from './logout-messages.js';
import { buildRedirectUrl, deflateSamlMessage, readRedirectMessage, type SamlMessageParam } from './redirect-binding.js';
import { signRoot, verifyRootSignature } from './signed-xml.js';
import { parseStrictXml, rootElement } from './strict-xml.js';
import type { IncomingSamlMessage, OutgoingSamlMessage } from './saml-messages.js';


export type ReadLogoutMessage = (IncomingLogoutRequest | IncomingLogoutResponse) & { readonly relayState: string | undefined };

export interface LogoutRequestOptions {
  /** Becomes the LogoutRequest ID (an xs:ID); the caller seals it into `relayState` to match the response. */
  readonly requestId: string;
  readonly nameId: string;
  readonly nameIdFormat: string | undefined;
  readonly sessionIndex: string | undefined;
  readonly relayState: string;
}

export interface LogoutResponseOptions {
  readonly inResponseTo: string;
  readonly partial: boolean;
  /** The RelayState of the IdP's request, echoed as the binding requires. */
  readonly relayState: string | undefined;
}

export interface SingleLogoutSettings {
  readonly spEntityId: string;
  readonly idp: IdpMetadata;
  /** The SP key; without it LogoutRequests cannot be sent and LogoutResponses go unsigned. */
  readonly signingKey: KeyObject | undefined;
  readonly spCertificate: string | undefined;
  readonly maxMessageBytes: number;
  readonly clockSkewMs: number;
  /** How long a logout may take at the IdP; also the oldest IssueInstant accepted. */
  readonly maxAgeMs: number;
  readonly now: () => number;
}

export interface SingleLogout {
  createLogoutRequest(options: LogoutRequestOptions): OutgoingSamlMessage;
  createLogoutResponse(options: LogoutResponseOptions): OutgoingSamlMessage;
  /** Throws SamlSignatureError (unsigned, forged), SamlMalformedError, SamlConditionsError. */
  readLogoutMessage(message: IncomingSamlMessage, sloUrl: string): ReadLogoutMessage;
}

export function createSingleLogout(settings: SingleLogoutSettings): SingleLogout {
  const { idp, signingKey } = settings;
  const certPems = idp.signingCerts.map((cert) => cert.pem);

  function send(endpoint: string, binding: 'redirect' | 'post', param: SamlMessageParam, xml: string, rootName: string, relayState: string | undefined): OutgoingSamlMessage {
    if (binding === 'redirect') return { binding, url: buildRedirectUrl(endpoint, param, deflateSamlMessage(xml), relayState, signingKey) };
    const signed = signingKey === undefined ? xml : signRoot(xml, rootName, signingKey, settings.spCertificate);
    const fields: Record<string, string> = { [param]: Buffer.from(signed, 'utf8').toString('base64') };
    if (relayState !== undefined && relayState !== '') fields.RelayState = relayState;
    return { binding, url: endpoint, fields };
  }

  return {
    createLogoutRequest(options) {
      if (idp.sloUrl === undefined || idp.sloBinding === undefined) return { binding: 'none', reason: 'the IdP metadata lists no SingleLogoutService' };
      if (signingKey === undefined) {
        return { binding: 'none', reason: 'single logout needs a signed LogoutRequest, but saml.spPrivateKey is not set' };
      }
      const nowMs = settings.now();
      const xml = logoutRequestXml({
        id: options.requestId,
        issuer: settings.spEntityId,
        destination: idp.sloUrl,
        issueInstant: new Date(nowMs),
        notOnOrAfter: new Date(nowMs + settings.maxAgeMs),
        nameId: options.nameId,
        nameIdFormat: options.nameIdFormat,
        sessionIndex: options.sessionIndex,
      });
      return send(idp.sloUrl, idp.sloBinding, 'SAMLRequest', xml, 'LogoutRequest', options.relayState);
    },

    createLogoutResponse(options) {
      const endpoint = idp.sloResponseUrl;
      if (endpoint === undefined || idp.sloBinding === undefined) return { binding: 'none', reason: 'the IdP metadata lists no SingleLogoutService to answer to' };
      const xml = logoutResponseXml({
        id: `_${randomBytes(20).toString('hex')}`,
        issuer: settings.spEntityId,
        destination: endpoint,
        issueInstant: new Date(settings.now()),
        inResponseTo: options.inResponseTo,
        partial: options.partial,
      });
      return send(endpoint, idp.sloBinding, 'SAMLResponse', xml, 'LogoutResponse', options.relayState);
    },

    readLogoutMessage(message, sloUrl) {
      let signedXml: string;
      let relayState: string | undefined;
      if (message.binding === 'redirect') {
        const read = readRedirectMessage(message.rawQuery, certPems, settings.maxMessageBytes);
        signedXml = read.xml;
        relayState = read.relayState;
      } else {
        const field = message.samlRequest !== undefined ? 'SAMLRequest' : 'SAMLResponse';
        const value = message.samlRequest ?? message.samlResponse;
        if (value === undefined || (message.samlRequest !== undefined && message.samlResponse !== undefined)) {
          throw new SamlMalformedError('The single logout post must carry exactly one SAMLRequest or SAMLResponse field.', {
            detail: 'message_parameter',
            publicMessage: PUBLIC_UNREADABLE,
          });
        }
        const xml = decodeSamlResponse(value, settings.maxMessageBytes, field);
        signedXml = verifyRootSignature(xml, parseStrictXml(xml, refusal), certPems);
        relayState = message.relayState;
      }
      const root = rootElement(parseStrictXml(signedXml, refusal));
      const read = readLogoutMessage(root, {
        idpEntityId: idp.entityId,
        destination: sloUrl,
        nowMs: settings.now(),
        clockSkewMs: settings.clockSkewMs,
        maxAgeMs: settings.maxAgeMs,
      });
      return { ...read, relayState };
    },
  };
}

const PUBLIC_UNREADABLE = 'The sign-out message from your identity provider could not be read.';

function refusal(problem: string, message: string, cause?: unknown): SamlMalformedError {
  return new SamlMalformedError(`The SAML logout message ${message}.`, { detail: problem, cause, publicMessage: PUBLIC_UNREADABLE });
}
