/**
 * One slice of a WebSocket row: `connections` sockets, each sending a message and waiting for its echo before
 * sending the next, for a bounded time. Round-trip latencies go into the row's recorder.
 */
import WebSocket from 'ws';
import type { LatencyRecorder } from './latency-recorder.js';
import type { LoadSlice } from './measure-http.js';

export interface WebSocketLoadOptions {
  /** `ws://127.0.0.1:<port>/<path>` */
  readonly url: string;
  readonly host: string;
  readonly cookieHeader: string;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly messageBytes: number;
  readonly latencies: LatencyRecorder;
}

const OPEN_TIMEOUT_MS = 10_000;

function open(options: WebSocketLoadOptions): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(options.url, {
      headers: { host: options.host, cookie: options.cookieHeader },
      handshakeTimeout: OPEN_TIMEOUT_MS,
      perMessageDeflate: false,
    });
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket upgrade answered HTTP ${res.statusCode}`)));
  });
}

export async function measureWebSocket(options: WebSocketLoadOptions): Promise<LoadSlice> {
  const sockets = await Promise.all(Array.from({ length: options.connections }, () => open(options)));
  const { latencies } = options;
  let roundTrips = 0;
  const message = Buffer.alloc(options.messageBytes, 0x62);
  let failures = 0;
  const startedAtMs = performance.now();
  const deadlineMs = startedAtMs + options.durationSeconds * 1000;
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          let sentAtMs = 0;
          const send = (): void => {
            sentAtMs = performance.now();
            socket.send(message);
          };
          socket.on('message', () => {
            const nowMs = performance.now();
            latencies.record(nowMs - sentAtMs);
            roundTrips += 1;
            if (nowMs < deadlineMs) send();
            else resolve();
          });
          socket.once('close', () => {
            if (performance.now() < deadlineMs) failures += 1;
            resolve();
          });
          socket.on('error', () => undefined);
          send();
        }),
    ),
  );
  const elapsedSeconds = (performance.now() - startedAtMs) / 1000;
  for (const socket of sockets) socket.terminate();
  return { completed: roundTrips, failures, elapsedSeconds };
}
