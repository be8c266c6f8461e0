/** What the cluster primary and its workers say to each other over the IPC channel. */

/** Primary → worker. `reload`: load the configuration file again. `stop`: stop gracefully and exit. */
export type PrimaryMessage = { readonly type: 'reload' } | { readonly type: 'stop' };

/** Worker → primary: the worker accepts connections on `port`. */
export type WorkerMessage = { readonly type: 'listening'; readonly port: number };

export function isPrimaryMessage(value: unknown): value is PrimaryMessage {
  return typeof value === 'object' && value !== null && 'type' in value && (value.type === 'reload' || value.type === 'stop');
}

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  return typeof value === 'object' && value !== null && 'type' in value && value.type === 'listening' && 'port' in value && typeof value.port === 'number';
}
