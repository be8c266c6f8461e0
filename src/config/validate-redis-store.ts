import type { SchemaValidation } from './validate-schema.js';
import type { SecretSpec } from './resolve-secrets.js';

/** store.redis as the schema guarantees it. */
export interface RawRedisStore {
  readonly url: string;
  readonly keyPrefix?: string;
  readonly password?: SecretSpec;
  readonly tls?: boolean;
  readonly connectTimeoutMs?: number;
  readonly commandTimeoutMs?: number;
}

/**
 * What the schema cannot say about store.redis: the URL is a redis:// or rediss:// URL the proxy can log (no password
 * in it), names a database by number only, and does not contradict `tls`. Resolves the password secret.
 */
export async function validateRedisStore(
  schema: SchemaValidation,
  read: (spec: SecretSpec | undefined, path: string) => Promise<string | undefined>,
  report: (path: string, message: string) => void,
): Promise<{ password: string | undefined }> {
  const text = schema.validAt<string>('store', 'redis', 'url');
  if (text !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(text);
    } catch {
      report('store.redis.url', 'not a URL; write redis://host:6379/0 (or rediss:// for TLS)');
    }
    if (url !== undefined) {
      if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
        report('store.redis.url', 'must start with redis:// or rediss:// (TLS)');
      } else if (url.hostname === '') {
        report('store.redis.url', 'names no host; write redis://host:6379/0');
      }
      if (url.password !== '') {
        report('store.redis.url', 'must not contain a password (it would appear in logs); put it into store.redis.password, e.g. "${REDIS_PASSWORD}"');
      }
      if (!/^\/?\d*$/.test(url.pathname)) report('store.redis.url', 'the path must be a database number, e.g. redis://host:6379/0');
      if (url.search !== '' || url.hash !== '') report('store.redis.url', 'must not have a query or fragment; use the store.redis keys for options');
      if (url.protocol === 'rediss:' && schema.validAt<boolean>('store', 'redis', 'tls') === false) {
        report('store.redis.tls', 'is false but store.redis.url starts with rediss:// (TLS); remove one of them');
      }
    }
  }
  return { password: await read(schema.validAt<SecretSpec>('store', 'redis', 'password'), 'store.redis.password') };
}
