/**
 * The SAML service provider (satisfies the flows' SamlPort): AuthnRequests, strict ACS
 * validation on top of node-saml. The IdP metadata is loaded once at creation.
 *
 * Validation order: strict decoding and parsing (size, base64, UTF-8, no DTD), the envelope
 * (Status, exactly one plain Assertion), node-saml (signature by a pinned certificate, its own
 * time/audience/InResponseTo checks on the real clock), then our checks of every condition on
 * the assertion node node-saml verified, on the injected clock.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { SAML, ValidateInResponseTo, type CacheProvider } from '@node-saml/node-saml';
import { Agent, type Dispatcher } from 'undici';
import type { SamlConfig } from '../config/runtime-config.js';
import { ConfigError, SamlMalformedError } from '../errors.js';
import { decodeSamlResponse } from './decode-saml-response.js';
import { loadIdpMetadata, type IdpMetadata } from './idp-metadata.js';
import { buildLoginRedirectUrl, type LoginRequestOptions, type LoginRequestSettings } from './login-request.js';
import { mapNodeSamlError } from './node-saml-error.js';
import { checkResponseEnvelope } from './response-envelope.js';
import { checkSignaturePresence, requiresAssertionSignature, requiresResponseSignature } from './signature-requirement.js';
import { parseStrictXml } from './strict-xml.js';
import type { IncomingSamlMessage, OutgoingSamlMessage } from './saml-messages.js';
import type { SamlProfile } from './saml-profile.js';
import { createSingleLogout, type LogoutRequestOptions, type LogoutResponseOptions, type ReadLogoutMessage } from './single-logout.js';
import { readVerifiedAssertion } from './verified-assertion.js';

export interface ServiceProviderDeps {
  /** Clock for our own checks (node-saml reads the real clock for its checks). */
  readonly now?: () => number;
  /** undici dispatcher for a `metadata-url` IdP; otherwise one owned Agent, closed by `close()`. */
  readonly dispatcher?: Dispatcher;
}

export interface IdpInfo {
  readonly entityId: string;
  readonly ssoUrl: string;
  readonly sloUrl: string | undefined;
  readonly signingCerts: readonly { readonly subject: string; readonly notAfter: Date; readonly fingerprintSha256: string }[];
}

export interface ValidateResponseOptions {
  /** The posted `SAMLResponse` field (base64). */
  readonly samlResponse: string;
  readonly acsUrl: string;
  /** The AuthnRequest ID this login started with; null when an unsolicited response is expected. */
  readonly expectedRequestId: string | null;
}

export interface ServiceProvider {
  readonly idp: IdpInfo;
  createLoginRequest(options: LoginRequestOptions): Promise<{ readonly redirectUrl: string }>;
  /** Throws SamlMalformedError, SamlSignatureError, SamlConditionsError or IdpStatusError. Does not check single use. */
  validateResponse(options: ValidateResponseOptions): Promise<SamlProfile>;
  /** A signed LogoutRequest to the IdP's SingleLogoutService, or `binding: 'none'` with the reason it is not possible. */
  createLogoutRequest(options: LogoutRequestOptions): Promise<OutgoingSamlMessage>;
  /** The LogoutResponse to an IdP's LogoutRequest (signed when the SP has a key). */
  createLogoutResponse(options: LogoutResponseOptions): Promise<OutgoingSamlMessage>;
  /** A LogoutRequest or LogoutResponse that arrived at `sloUrl`, signature required. */
  readLogoutMessage(message: IncomingSamlMessage, sloUrl: string): Promise<ReadLogoutMessage>;
  checkReady(): Promise<void>;
  close(): Promise<void>;
}

/** Loads the IdP metadata (throws IdpUnavailableError) and returns the ready service provider. */
export async function createServiceProvider(config: SamlConfig, deps: ServiceProviderDeps = {}): Promise<ServiceProvider> {
  const now = deps.now ?? Date.now;
  const signingKey = readSpSigningKey(config);
  const ownedAgent =
    deps.dispatcher === undefined && config.idp.kind === 'metadata-url'
      ? new Agent({ connectTimeout: config.metadataTimeoutMs, headersTimeout: config.metadataTimeoutMs, bodyTimeout: config.metadataTimeoutMs })
      : undefined;
  const dispatcher = deps.dispatcher ?? ownedAgent;
  let idp: IdpMetadata;
  try {
    idp = await loadIdpMetadata(config, dispatcher === undefined ? {} : { dispatcher });
  } catch (error) {
    await ownedAgent?.destroy();
    throw error;
  }
  const idpCertPems = idp.signingCerts.map((cert) => cert.pem);
  const loginRequestSettings: LoginRequestSettings = { spEntityId: config.spEntityId, ssoUrl: idp.ssoUrl, nameIdFormat: config.nameIdFormat, signingKey, forceAuthn: config.forceAuthn };
  const singleLogout = createSingleLogout({
    spEntityId: config.spEntityId,
    idp,
    signingKey: readSpKey(config),
    spCertificate: config.spCertificate,
    maxMessageBytes: config.maxMessageBytes,
    clockSkewMs: config.clockSkewMs,
    maxAgeMs: config.loginTimeoutMs,
    now,
  });

  const validateResponse = async (options: ValidateResponseOptions): Promise<SamlProfile> => {
    const xml = decodeSamlResponse(options.samlResponse, config.maxMessageBytes);
    const document = parseStrictXml(xml, (problem, message, cause) => new SamlMalformedError(`The SAML response ${message}.`, { detail: problem, cause }));
    const envelope = checkResponseEnvelope(document);
    checkSignaturePresence(envelope, config.requireSignature);
    const nowMs = now();
    const saml = new SAML({
      callbackUrl: options.acsUrl,
      issuer: config.spEntityId,
      audience: config.spEntityId,
      idpIssuer: idp.entityId,
      idpCert: [...idpCertPems],
      // With both false, node-saml still requires the assertion's signature when the Response's
      // is missing or invalid: at least one of the two.
      wantAuthnResponseSigned: requiresResponseSignature(config.requireSignature),
      wantAssertionsSigned: requiresAssertionSignature(config.requireSignature),
      // -1 would switch node-saml's time checks off.
      acceptedClockSkewMs: Math.max(0, config.clockSkewMs),
      maxAssertionAgeMs: 0,
      validateInResponseTo: options.expectedRequestId === null ? ValidateInResponseTo.ifPresent : ValidateInResponseTo.always,
      cacheProvider: onlyRequestIdCache(options.expectedRequestId, new Date(nowMs).toISOString()),
      requestIdExpirationPeriodMs: config.loginTimeoutMs,
    });
    let signedAssertionXml: string | undefined;
    try {
      const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: Buffer.from(xml, 'utf8').toString('base64') });
      signedAssertionXml = profile?.getAssertionXml?.();
    } catch (error) {
      throw mapNodeSamlError(error);
    }
    if (signedAssertionXml === undefined) {
      throw new SamlMalformedError('The SAML response was refused: node-saml found no signed assertion in it.', { detail: 'assertion_missing' });
    }
    return readVerifiedAssertion(envelope.response, signedAssertionXml, {
      idpEntityId: idp.entityId,
      spEntityId: config.spEntityId,
      acsUrl: options.acsUrl,
      expectedRequestId: options.expectedRequestId,
      assertionId: envelope.assertionId,
      clockSkewMs: config.clockSkewMs,
      maxIssueAgeMs: config.loginTimeoutMs,
      nowMs,
    });
  };

  return {
    idp: Object.freeze({
      entityId: idp.entityId,
      ssoUrl: idp.ssoUrl,
      sloUrl: idp.sloUrl,
      signingCerts: idp.signingCerts.map(({ subject, notAfter, fingerprintSha256 }) => ({ subject, notAfter, fingerprintSha256 })),
    }),
    createLoginRequest: async (options) => ({ redirectUrl: buildLoginRedirectUrl(loginRequestSettings, options, new Date(now())) }),
    validateResponse,
    createLogoutRequest: async (options) => singleLogout.createLogoutRequest(options),
    createLogoutResponse: async (options) => singleLogout.createLogoutResponse(options),
    readLogoutMessage: async (message, sloUrl) => singleLogout.readLogoutMessage(message, sloUrl),
    // The metadata was loaded at creation; a failed load never yields a service provider.
    checkReady: async () => {},
    close: async () => {
      await ownedAgent?.close();
    },
  };
}

/** The SP key for single logout: whenever saml.spPrivateKey is set (saml.signAuthnRequests governs AuthnRequests only). */
function readSpKey(config: SamlConfig): KeyObject | undefined {
  return config.spPrivateKey === undefined ? undefined : readSpSigningKey({ ...config, signAuthnRequests: true });
}

function readSpSigningKey(config: SamlConfig): KeyObject | undefined {
  if (!config.signAuthnRequests) return undefined;
  if (config.spPrivateKey === undefined) {
    throw new ConfigError([{ path: 'saml.spPrivateKey', message: 'saml.signAuthnRequests is true, so the SP private key is required.' }]);
  }
  try {
    return createPrivateKey(config.spPrivateKey);
  } catch (error) {
    throw new ConfigError([{ path: 'saml.spPrivateKey', message: `is not a readable PEM private key (${error instanceof Error ? error.message : String(error)}).` }], {
      cause: error,
    });
  }
}

/** node-saml's InResponseTo store for one validation: it knows exactly the expected request ID. */
function onlyRequestIdCache(requestId: string | null, issuedAtIso: string): CacheProvider {
  return {
    saveAsync: async () => null,
    getAsync: async (key) => (requestId !== null && key === requestId ? issuedAtIso : null),
    removeAsync: async (key) => key,
  };
}
