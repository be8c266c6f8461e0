/**
 * One WebSocket row: `connections` sockets, each sending a message and waiting for its echo before sending the
 * next, for a bounded time. Reports round trips per second and their latency.
 */
import WebSocket from 'ws';
import { createLatencyRecorder } from './latency-recorder.js';

export interface WebSocketLoadOptions {
  /** `ws://127.0.0.1:<port>/<path>` */
  readonly url: string;
  readonly host: string;
  readonly cookieHeader: string;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly messageBytes: number;
}

export interface WebSocketLoadResult {
  readonly roundTripsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly roundTrips: number;
  readonly failures: number;
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

export async function measureWebSocket(options: WebSocketLoadOptions): Promise<WebSocketLoadResult> {
  const sockets = await Promise.all(Array.from({ length: options.connections }, () => open(options)));
  const latencies = createLatencyRecorder();
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
  const summary = latencies.summary();
  return {
    roundTripsPerSecond: summary.count / elapsedSeconds,
    p50Ms: summary.p50Ms,
    p99Ms: summary.p99Ms,
    roundTrips: summary.count,
    failures,
  };
}
