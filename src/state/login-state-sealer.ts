import { createCipheriv, createSecretKey, hkdfSync, randomBytes, webcrypto } from 'node:crypto';
import { jwtDecrypt } from 'jose';
import { RelayStateError } from '../errors.js';

/** The sealed login state (shape mirrors the flows' LoginState; adapters never import flows). */
export interface SealedLoginState {
  readonly requestId: string;
  readonly returnUrl: string;
  readonly browserBinding?: { readonly id: string; readonly nonceHash: string };
}

export interface LoginStateSealerOptions {
  /** config.stateSecret: at least 32 bytes, identical on every instance. */
  readonly secret: Uint8Array;
  /** How long a started login may take (config.saml.loginTimeoutMs). */
  readonly ttlMs: number;
  readonly now?: () => number;
}

export interface LoginStateSealer {
  seal(state: SealedLoginState): Promise<string>;
  open(sealed: string): Promise<SealedLoginState>;
}

const AUDIENCE = 'crowd-sso-proxy:login-state';
/** A sealed state is a compact JWE: five base64url parts. Anything longer than this is not ours. */
const MAX_SEALED_LENGTH = 4096;

/** The compact JWE's protected header, base64url; it is also the AES-GCM additional data (RFC 7516 §5.1). */
const PROTECTED_HEADER = Buffer.from(JSON.stringify({ alg: 'dir', enc: 'A256GCM' })).toString('base64url');
const ADDITIONAL_DATA = Buffer.from(PROTECTED_HEADER, 'ascii');

/**
 * Seals the login state into RelayState (JWE, dir + A256GCM, key derived from config.stateSecret with HKDF),
 * so whichever instance receives the ACS POST can finish the login without shared memory.
 *
 * jose opens the states; sealing is node:crypto's AES-GCM, which writes the same compact JWE that jose's EncryptJWT
 * does (the tests open each with the other). Anyone may start logins, and jose seals only through WebCrypto, whose
 * asynchronous job took about 80 µs of the 310 µs of CPU the running proxy spent on a redirect to the IdP;
 * createCipheriv takes about 10 µs.
 */
export function createLoginStateSealer(options: LoginStateSealerOptions): LoginStateSealer {
  const rawKey = new Uint8Array(hkdfSync('sha256', options.secret, new Uint8Array(0), 'crowd-sso-proxy login state v1', 32));
  const sealingKey = createSecretKey(rawKey);
  // Imported once: handed the raw bytes, jose imports a WebCrypto key on every call (measured alone, 59 µs of CPU per
  // open instead of 30 µs). 32 bytes are always a valid AES-256 key, so the import cannot fail.
  const openingKey = webcrypto.subtle.importKey('raw', rawKey, 'AES-GCM', false, ['decrypt']);
  const now = options.now ?? Date.now;
  const ttlSeconds = Math.max(1, Math.floor(options.ttlMs / 1000));

  return {
    async seal(state) {
      const issuedAt = Math.floor(now() / 1000);
      const binding = state.browserBinding === undefined ? {} : { bid: state.browserBinding.id, bnh: state.browserBinding.nonceHash };
      const claims = JSON.stringify({ rid: state.requestId, ret: state.returnUrl, ...binding, aud: AUDIENCE, iat: issuedAt, exp: issuedAt + ttlSeconds });
      // A random 96-bit IV per state, as jose chooses it.
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', sealingKey, iv);
      cipher.setAAD(ADDITIONAL_DATA);
      const ciphertext = Buffer.concat([cipher.update(claims, 'utf8'), cipher.final()]);
      return `${PROTECTED_HEADER}..${iv.toString('base64url')}.${ciphertext.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
    },
    async open(sealed) {
      if (sealed.length === 0 || sealed.length > MAX_SEALED_LENGTH) {
        throw new RelayStateError('RelayState is empty or too long to be a login state issued by this proxy', { detail: 'relay_state_shape' });
      }
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jwtDecrypt(sealed, await openingKey, {
          audience: AUDIENCE,
          currentDate: new Date(now()),
          keyManagementAlgorithms: ['dir'],
          contentEncryptionAlgorithms: ['A256GCM'],
          requiredClaims: ['exp', 'iat'],
        }));
      } catch (error) {
        const expired = (error as { code?: string }).code === 'ERR_JWT_EXPIRED';
        throw new RelayStateError(
          expired
            ? `the login state expired (saml.loginTimeoutSeconds); the user took too long at the IdP`
            : 'RelayState is not a login state sealed by this proxy (tampered, or stateSecret differs between instances)',
          { cause: error, detail: expired ? 'relay_state_expired' : 'relay_state_unsealable' },
        );
      }
      const { rid, ret, bid, bnh } = payload;
      if (typeof rid !== 'string' || typeof ret !== 'string') {
        throw new RelayStateError('the login state lacks its request id or return URL', { detail: 'relay_state_claims' });
      }
      const browserBinding = typeof bid === 'string' && typeof bnh === 'string' ? { browserBinding: { id: bid, nonceHash: bnh } } : {};
      return { requestId: rid, returnUrl: ret, ...browserBinding };
    },
  };
}

/** A cheap test for "this looks like a sealed state" (compact JWE: 5 dot-separated base64url parts). */
export function looksSealed(value: string): boolean {
  return /^[\w-]+\.[\w-]*\.[\w-]+\.[\w-]+\.[\w-]+$/.test(value);
}
