/**
 * A tiny SAML 2.0 IdP for the demo and the end-to-end tests. NOT for real use: users and
 * passwords live in memory, and any http(s) ACS URL named in an AuthnRequest receives the response.
 *
 *   GET  /metadata    IdP metadata (entityID, signing certificate, SSO URL)
 *   GET  /sso         HTTP-Redirect AuthnRequest: answered at once when the browser has a demo-IdP
 *                     session (unless ForceAuthn="true"), otherwise a login form
 *   POST /sso/login   checks the password, starts the session, posts the signed Response to the ACS
 *   GET  /slo         single logout (HTTP-Redirect): an SP's LogoutRequest ends the session and is answered with a
 *                     signed LogoutResponse; an SP's LogoutResponse (to an IdP-initiated logout) shows "signed out"
 *   GET  /logout      ends the demo-IdP session and, with `sp` configured, logs the user out at the SP too
 *                     (IdP-initiated single logout)
 *
 * When an AuthnRequest asks for an authentication context (RequestedAuthnContext), the demo IdP pretends to have
 * performed it and answers with the first class requested.
 */
import { createPrivateKey, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { logoutRequestXml, logoutResponseXml } from '../../src/saml/logout-messages.js';
import { buildRedirectUrl, deflateSamlMessage } from '../../src/saml/redirect-binding.js';
import { SAML_URI } from '../../src/saml/saml-uris.js';
import { signRoot } from '../../src/saml/signed-xml.js';
import { escapeXml } from '../../src/saml/xml-escape.js';
import { buildSamlResponse, newSamlId, parseAuthnRequest, readSignedLogoutRequest, type ParsedAuthnRequest, type ParsedLogoutRequest } from './saml-response.js';

export interface DemoUser {
  readonly username: string;
  readonly password: string;
  readonly email: string;
  readonly firstName: string;
  readonly lastName: string;
  readonly groups?: readonly string[];
}

export interface DemoIdpOptions {
  /** Default 0 (any free port). */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default `<url>/metadata`. */
  readonly entityId?: string;
  readonly keyPem: string;
  readonly certPem: string;
  readonly users: readonly DemoUser[];
  /** How long a demo-IdP login session lasts; default 8 hours. */
  readonly sessionTtlMs?: number;
  /** The service provider for single logout: where LogoutRequests/Responses go, and its signing certificate. */
  readonly sp?: { readonly entityId: string; readonly sloUrl: string; readonly certPem?: string };
  /** Publish a SingleLogoutService in the metadata (default true). */
  readonly singleLogout?: boolean;
}

/** How a test makes the demo IdP send an IdP-initiated LogoutRequest. */
export interface IdpLogoutRequestOptions {
  readonly nameId: string;
  /** Leave out to log out every session of the NameID. */
  readonly sessionIndex?: string;
  readonly binding: 'redirect' | 'post';
  /** Sign with this key instead of the IdP's (a forgery); null = unsigned. */
  readonly signingKeyPem?: string | null;
  readonly relayState?: string;
  /** Default: the SP's SLO URL. */
  readonly destination?: string;
  /** The LogoutRequest ID (default: a new one). */
  readonly id?: string;
}

export type IdpOutgoingMessage =
  | { readonly binding: 'redirect'; readonly url: string }
  | { readonly binding: 'post'; readonly url: string; readonly fields: Record<string, string> };

export interface DemoIdp {
  readonly url: string;
  readonly entityId: string;
  readonly metadataUrl: string;
  readonly ssoUrl: string;
  readonly sloUrl: string;
  /** Builds an IdP-initiated LogoutRequest to the SP (for tests, and for GET /logout). */
  logoutRequest(options: IdpLogoutRequestOptions): IdpOutgoingMessage;
  /** LogoutRequests the SPs sent here (parsed), oldest first. */
  readonly receivedLogoutRequests: readonly ParsedLogoutRequest[];
  close(): Promise<void>;
}

interface IdpSession {
  readonly username: string;
  readonly nameId: string;
  readonly sessionIndex: string;
  readonly expiresAtMs: number;
}

const SESSION_COOKIE = 'demo_idp_session';
const MAX_FORM_BYTES = 64 * 1024;
const RESPONSE_LIFETIME_MS = 5 * 60_000;
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const UNSPECIFIED_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';
/** Attribute Name (OID) → FriendlyName, as most enterprise IdPs publish them. */
const ATTRIBUTE = {
  mail: 'urn:oid:0.9.2342.19200300.100.1.3',
  givenName: 'urn:oid:2.5.4.42',
  sn: 'urn:oid:2.5.4.4',
  displayName: 'urn:oid:2.16.840.1.113730.3.1.241',
  isMemberOf: 'urn:oid:1.3.6.1.4.1.5923.1.5.1.1',
} as const;

export async function startDemoIdp(options: DemoIdpOptions): Promise<DemoIdp> {
  const sessions = new Map<string, IdpSession>();
  const sessionTtlMs = options.sessionTtlMs ?? 8 * 3_600_000;
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) page(res, 500, 'Demo IdP error', `<p>${escapeXml(error instanceof Error ? error.message : String(error))}</p>`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  const entityId = options.entityId ?? `${url}/metadata`;
  const ssoUrl = `${url}/sso`;
  const sloUrl = `${url}/slo`;
  const signingKey = createPrivateKey(options.keyPem);
  const received: ParsedLogoutRequest[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestUrl = new URL(req.url ?? '/', url);
    const route = `${req.method ?? 'GET'} ${requestUrl.pathname}`;
    if (route === 'GET /metadata') return sendMetadata(res);
    if (route === 'GET /sso') return startSso(req, res, requestUrl.searchParams);
    if (route === 'POST /sso/login') return finishLogin(req, res);
    if (route === 'GET /logout') return logout(req, res);
    if (route === 'GET /slo') return singleLogout(res, requestUrl);
    page(res, 404, 'Not found', '<p>This demo IdP serves /metadata, /sso and /logout.</p>');
  }

  function sendMetadata(res: ServerResponse): void {
    const cert = options.certPem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
    const xml = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      `<md:EntityDescriptor xmlns:md="${SAML_URI.metadataNs}" xmlns:ds="${SAML_URI.xmlDsigNs}" entityID="${escapeXml(entityId)}">`,
      `  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="${SAML_URI.protocolNs}">`,
      `    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
      `    <md:NameIDFormat>${UNSPECIFIED_FORMAT}</md:NameIDFormat>`,
      `    <md:NameIDFormat>${EMAIL_FORMAT}</md:NameIDFormat>`,
      options.singleLogout === false ? '' : `    <md:SingleLogoutService Binding="${SAML_URI.bindingRedirect}" Location="${escapeXml(sloUrl)}"/>`,
      `    <md:SingleSignOnService Binding="${SAML_URI.bindingRedirect}" Location="${escapeXml(ssoUrl)}"/>`,
      '  </md:IDPSSODescriptor>',
      '</md:EntityDescriptor>',
      '',
    ].join('\n');
    res.writeHead(200, { 'content-type': 'application/samlmetadata+xml; charset=utf-8', 'cache-control': 'no-store' }).end(xml);
  }

  function startSso(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
    const samlRequest = query.get('SAMLRequest') ?? '';
    const relayState = query.get('RelayState') ?? '';
    const request = readRequest(res, samlRequest);
    if (request === undefined) return;
    const session = currentSession(req);
    if (session !== undefined && !request.forceAuthn) return postResponse(res, request, relayState, session);
    loginForm(res, 200, samlRequest, relayState, '');
  }

  async function finishLogin(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await readForm(req);
    if (form === undefined) return page(res, 413, 'Too large', '<p>The login form is larger than this demo IdP accepts.</p>');
    const samlRequest = form.get('SAMLRequest') ?? '';
    const relayState = form.get('RelayState') ?? '';
    const request = readRequest(res, samlRequest);
    if (request === undefined) return;
    const user = options.users.find((candidate) => candidate.username === form.get('username'));
    if (user === undefined || !sameText(user.password, form.get('password') ?? '')) {
      return loginForm(res, 401, samlRequest, relayState, 'Unknown user or wrong password.');
    }
    const token = randomBytes(32).toString('base64url');
    const byEmail = request.nameIdFormat === EMAIL_FORMAT;
    const session = {
      username: user.username,
      nameId: byEmail ? user.email : user.username,
      sessionIndex: `_${randomBytes(16).toString('hex')}`,
      expiresAtMs: Date.now() + sessionTtlMs,
    };
    sessions.set(token, session);
    res.setHeader('set-cookie', `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${Math.floor(sessionTtlMs / 1000)}`);
    postResponse(res, request, relayState, session);
  }

  function logout(req: IncomingMessage, res: ServerResponse): void {
    const token = sessionToken(req);
    const session = token === undefined ? undefined : sessions.get(token);
    if (token !== undefined) sessions.delete(token);
    res.setHeader('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`);
    if (session !== undefined && options.sp !== undefined) {
      // IdP-initiated single logout: the SP ends the session's SSO cookie and answers at /slo.
      const message = logoutRequest({ nameId: session.nameId, sessionIndex: session.sessionIndex, binding: 'redirect' });
      res.writeHead(302, { location: message.url, 'cache-control': 'no-store' }).end();
      return;
    }
    page(res, 200, 'Signed out', '<p>You are signed out of the demo IdP.</p>');
  }

  /** SP-initiated logout (a LogoutRequest), or the SP's answer to an IdP-initiated one (a LogoutResponse). */
  function singleLogout(res: ServerResponse, requestUrl: URL): void {
    const query = requestUrl.search.slice(1);
    if (requestUrl.searchParams.has('SAMLResponse')) {
      return page(res, 200, 'Signed out', '<p>You are signed out of the demo IdP and of the applications.</p>');
    }
    let request: ParsedLogoutRequest;
    try {
      request = readSignedLogoutRequest(query, options.sp?.certPem);
    } catch (error) {
      return page(res, 400, 'Bad logout request', `<p>${escapeXml(error instanceof Error ? error.message : String(error))}</p>`);
    }
    received.push(request);
    for (const [token, session] of sessions) if (session.sessionIndex === request.sessionIndex) sessions.delete(token);
    const destination = options.sp?.sloUrl;
    if (destination === undefined) return page(res, 200, 'Signed out', '<p>You are signed out of the demo IdP.</p>');
    const xml = logoutResponseXml({
      id: newSamlId(),
      issuer: entityId,
      destination,
      issueInstant: new Date(),
      inResponseTo: request.id,
      partial: false,
    });
    const url = buildRedirectUrl(destination, 'SAMLResponse', deflateSamlMessage(xml), requestUrl.searchParams.get('RelayState') ?? undefined, signingKey);
    res.setHeader('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`);
    res.writeHead(302, { location: url, 'cache-control': 'no-store' }).end();
  }

  function logoutRequest(request: IdpLogoutRequestOptions): IdpOutgoingMessage {
    const destination = request.destination ?? options.sp?.sloUrl;
    if (destination === undefined) throw new Error('demo IdP: no SP single logout URL (options.sp.sloUrl) to send a LogoutRequest to');
    const nowMs = Date.now();
    const xml = logoutRequestXml({
      id: request.id ?? newSamlId(),
      issuer: entityId,
      destination,
      issueInstant: new Date(nowMs),
      notOnOrAfter: new Date(nowMs + RESPONSE_LIFETIME_MS),
      nameId: request.nameId,
      nameIdFormat: undefined,
      sessionIndex: request.sessionIndex,
    });
    const key = request.signingKeyPem === null ? undefined : request.signingKeyPem === undefined ? signingKey : createPrivateKey(request.signingKeyPem);
    if (request.binding === 'redirect') return { binding: 'redirect', url: buildRedirectUrl(destination, 'SAMLRequest', deflateSamlMessage(xml), request.relayState, key) };
    const signed = key === undefined ? xml : signRoot(xml, 'LogoutRequest', key, undefined);
    const fields: Record<string, string> = { SAMLRequest: Buffer.from(signed, 'utf8').toString('base64') };
    if (request.relayState !== undefined) fields.RelayState = request.relayState;
    return { binding: 'post', url: destination, fields };
  }

  /** The AuthnRequest, or undefined after answering 400. */
  function readRequest(res: ServerResponse, samlRequest: string): ParsedAuthnRequest | undefined {
    let request: ParsedAuthnRequest;
    try {
      request = parseAuthnRequest(samlRequest);
    } catch (error) {
      page(res, 400, 'Bad SAML request', `<p>${escapeXml(error instanceof Error ? error.message : String(error))}</p>`);
      return undefined;
    }
    const acsUrl = request.acsUrl === undefined || !URL.canParse(request.acsUrl) ? undefined : new URL(request.acsUrl);
    if (acsUrl === undefined || (acsUrl.protocol !== 'https:' && acsUrl.protocol !== 'http:')) {
      page(res, 400, 'Bad SAML request', '<p>The AuthnRequest must name an http(s) AssertionConsumerServiceURL.</p>');
      return undefined;
    }
    return request;
  }

  function postResponse(res: ServerResponse, request: ParsedAuthnRequest, relayState: string, session: IdpSession): void {
    const user = options.users.find((candidate) => candidate.username === session.username);
    const acsUrl = request.acsUrl ?? '';
    if (user === undefined) return page(res, 500, 'Demo IdP error', '<p>The signed-in user no longer exists.</p>');
    const nowMs = Date.now();
    const byEmail = request.nameIdFormat === EMAIL_FORMAT;
    const samlResponse = buildSamlResponse({
      issuer: entityId,
      destination: acsUrl,
      recipient: acsUrl,
      audience: request.issuer,
      inResponseTo: request.id,
      nameId: byEmail ? user.email : user.username,
      nameIdFormat: byEmail ? EMAIL_FORMAT : (request.nameIdFormat ?? UNSPECIFIED_FORMAT),
      sessionIndex: session.sessionIndex,
      // A demo IdP "performs" whatever authentication the SP asks for.
      ...(request.requestedAuthnContext[0] === undefined ? {} : { authnContextClassRef: request.requestedAuthnContext[0] }),
      attributes: {
        [ATTRIBUTE.mail]: user.email,
        [ATTRIBUTE.givenName]: user.firstName,
        [ATTRIBUTE.sn]: user.lastName,
        [ATTRIBUTE.displayName]: `${user.firstName} ${user.lastName}`,
        [ATTRIBUTE.isMemberOf]: user.groups ?? [],
      },
      friendlyNames: Object.fromEntries(Object.entries(ATTRIBUTE).map(([friendly, name]) => [name, friendly])),
      issueInstant: new Date(nowMs),
      notBefore: new Date(nowMs - 30_000),
      notOnOrAfter: new Date(nowMs + RESPONSE_LIFETIME_MS),
      sign: 'both',
      privateKeyPem: options.keyPem,
      certPem: options.certPem,
    });
    const nonce = randomBytes(16).toString('base64');
    const body = [
      `<form method="post" action="${escapeXml(acsUrl)}">`,
      `<input type="hidden" name="SAMLResponse" value="${escapeXml(samlResponse)}">`,
      relayState === '' ? '' : `<input type="hidden" name="RelayState" value="${escapeXml(relayState)}">`,
      `<p>Signing you in to ${escapeXml(new URL(acsUrl).host)} as ${escapeXml(user.username)}&hellip;</p>`,
      '<button type="submit">Continue</button>',
      '</form>',
      `<script nonce="${nonce}">document.forms[0].submit();</script>`,
    ].join('\n');
    page(res, 200, 'Signing in', body, nonce);
  }

  function loginForm(res: ServerResponse, status: number, samlRequest: string, relayState: string, error: string): void {
    const users = options.users
      .map((user) => `<li><code>${escapeXml(user.username)}</code> (${escapeXml(`${user.firstName} ${user.lastName}`)})</li>`)
      .join('');
    page(
      res,
      status,
      'Demo IdP sign-in',
      [
        error === '' ? '' : `<p role="alert"><strong>${escapeXml(error)}</strong></p>`,
        '<form method="post" action="/sso/login">',
        `<input type="hidden" name="SAMLRequest" value="${escapeXml(samlRequest)}">`,
        `<input type="hidden" name="RelayState" value="${escapeXml(relayState)}">`,
        '<p><label>Username <input name="username" autocomplete="username" required autofocus></label></p>',
        '<p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p>',
        '<button type="submit">Sign in</button>',
        '</form>',
        `<p>Demo users:</p><ul>${users}</ul>`,
      ].join('\n'),
    );
  }

  function currentSession(req: IncomingMessage): IdpSession | undefined {
    const token = sessionToken(req);
    const session = token === undefined ? undefined : sessions.get(token);
    if (token === undefined || session === undefined) return undefined;
    if (session.expiresAtMs <= Date.now()) {
      sessions.delete(token);
      return undefined;
    }
    return session;
  }

  return {
    url,
    entityId,
    metadataUrl: `${url}/metadata`,
    ssoUrl,
    sloUrl,
    logoutRequest,
    receivedLogoutRequests: received,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}

function sessionToken(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE) return value.join('=');
  }
  return undefined;
}

function sameText(expected: string, actual: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(actual, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    const bytes = chunk as Buffer;
    total += bytes.length;
    if (total > MAX_FORM_BYTES) return undefined;
    chunks.push(bytes);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function page(res: ServerResponse, status: number, title: string, bodyHtml: string, scriptNonce?: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; script-src ${scriptNonce === undefined ? "'none'" : `'nonce-${scriptNonce}'`}; frame-ancestors 'none'; base-uri 'none'`,
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
  });
  res.end(
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title></head>\n<body>\n<h1>${escapeXml(title)}</h1>\n${bodyHtml}\n</body></html>\n`,
  );
}
