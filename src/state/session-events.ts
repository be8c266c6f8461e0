/**
 * "This session has ended", told to every instance: after a logout on one instance (the app's logout, or the IdP's
 * LogoutRequest), the others drop what they cached about the token instead of trusting it until crowd.cacheTtlMs
 * runs out. With store.redis it is a Redis Pub/Sub channel (`<keyPrefix>session-ended`) on a connection of its own;
 * in memory it reaches this process only, which is all there is.
 *
 * Best effort, by design: a message published while an instance is cut off from Redis is not replayed to it. Crowd
 * has ended the session either way (every app sees that at its next validation), and the instance's cached answer
 * expires within crowd.cacheTtlMs.
 */
import type { RedisConnection } from './redis-connection.js';

export interface SessionEvents {
  /** Tells every instance, this one included; throws StoreUnavailableError when Redis did not take the message. */
  publishEnded(token: string): Promise<void>;
  /** `listener` hears every token ended by any instance (at least once; idempotent handling expected). */
  onEnded(listener: (token: string) => void): void;
  close(): Promise<void>;
}

/** The Pub/Sub channel under store.redis.keyPrefix (an ACL user needs it: `&<keyPrefix>*`). */
export function sessionEventsChannel(keyPrefix: string): string {
  return `${keyPrefix}session-ended`;
}

export function createMemorySessionEvents(): SessionEvents {
  const listeners: ((token: string) => void)[] = [];
  return {
    async publishEnded(token) {
      for (const listener of listeners) listener(token);
    },
    onEnded(listener) {
      listeners.push(listener);
    },
    async close() {},
  };
}

/**
 * Pub/Sub needs a connection in subscriber mode, so the subscriber is a duplicate of the store's connection (same
 * endpoint, credentials, TLS and timeouts); it subscribes again each time it (re)connects. Its outages are the
 * store connection's too, which logs them.
 */
export function createRedisSessionEvents(connection: RedisConnection, keyPrefix: string): SessionEvents {
  const channel = sessionEventsChannel(keyPrefix);
  const listeners: ((token: string) => void)[] = [];
  const subscriber = connection.client.duplicate({ autoResubscribe: false, lazyConnect: true });
  subscriber.on('error', () => {});
  subscriber.on('ready', () => {
    subscriber.subscribe(channel).catch(() => {});
  });
  subscriber.on('message', (from: string, token: string) => {
    if (from !== channel) return;
    for (const listener of listeners) listener(token);
  });

  return {
    async publishEnded(token) {
      await connection.run('publish_session_end', (redis) => redis.publish(channel, token));
    },
    onEnded(listener) {
      listeners.push(listener);
      // Connected on first use: `check` and the cluster primary build stores but never listen.
      if (listeners.length === 1) subscriber.connect().catch(() => {});
    },
    async close() {
      // A client that never connected would connect just to say QUIT.
      if (subscriber.status !== 'wait') await subscriber.quit().catch(() => undefined);
      subscriber.disconnect();
    },
  };
}
