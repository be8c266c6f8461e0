import type { RuntimeConfig } from '../config/runtime-config.js';
import { createMemoryReplayStore, type ReplayStore } from './memory-replay-store.js';
import { createMemorySessionStore, type SessionStore } from './memory-session-store.js';

/** Everything several instances would have to share. */
export interface Stores {
  readonly replay: ReplayStore;
  readonly sessions: SessionStore;
  close(): Promise<void>;
}

/** The stores the configuration asks for (in memory: one instance only). */
export function createStores(_config: RuntimeConfig): Stores {
  return {
    replay: createMemoryReplayStore(),
    sessions: createMemorySessionStore(),
    close: async () => {},
  };
}
