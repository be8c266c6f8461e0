/**
 * A real upstream for end-to-end tests: an HTTP server on 127.0.0.1 (port 0) that stands in for Jira or
 * Confluence, plus a WebSocket echo server on the same port.
 *
 * Routes (any method):
 * - anything not listed below: 200, JSON echo of the request `{ method, url, headers, bodyBytes, bodySha256 }`
 *   (the body is read to its end first);
 * - `/download?bytes=N`: 200 with N bytes of a fixed pattern, streamed with backpressure, `Content-Length: N`
 *   and `X-Body-Sha256` (hex digest of the N bytes);
 * - `/slow?ms=N`: waits N ms, then answers the JSON echo;
 * - `/reset`: destroys the connection without answering;
 * - `/reset-mid-body`: sends headers announcing 1 MiB and 1 KiB of body, then destroys the connection.
 *
 * Every HTTP request is recorded in `requests` once its body has ended; every WebSocket handshake is
 * recorded there too (body 0 bytes), so header assertions work for upgrades as well. Messages sent on a
 * WebSocket come back unchanged (text stays text, binary stays binary).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly bodyBytes: number;
  readonly bodySha256: string;
}

export interface Upstream {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Completed HTTP requests and WebSocket handshakes, in order of completion. */
  readonly requests: readonly RecordedRequest[];
  /** Resolves once a request body still being received has reached `bytes` bytes (or one already has). */
  waitForBodyBytes(bytes: number): Promise<void>;
  /** Closes WebSockets, open connections and the server; pending `/slow` answers are dropped. */
  close(): Promise<void>;
}

const PATTERN_CHUNK = Buffer.from(Array.from({ length: 64 * 1024 }, (_, index) => index % 251));
const EMPTY_SHA256 = createHash('sha256').digest('hex');

export async function startUpstream(): Promise<Upstream> {
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const bodyWaiters: { readonly bytes: number; readonly resolve: () => void }[] = [];
  let largestBodySoFar = 0;

  function noteBodyProgress(bytes: number): void {
    if (bytes > largestBodySoFar) largestBodySoFar = bytes;
    for (let index = bodyWaiters.length - 1; index >= 0; index -= 1) {
      const waiter = bodyWaiters[index];
      if (waiter !== undefined && waiter.bytes <= bytes) {
        bodyWaiters.splice(index, 1);
        waiter.resolve();
      }
    }
  }

  function echo(res: ServerResponse, record: RecordedRequest): void {
    const body = JSON.stringify(record);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  function download(res: ServerResponse, totalBytes: number): void {
    const digest = createHash('sha256');
    for (let sent = 0; sent < totalBytes; sent += PATTERN_CHUNK.length) {
      digest.update(PATTERN_CHUNK.subarray(0, Math.min(PATTERN_CHUNK.length, totalBytes - sent)));
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': totalBytes, 'x-body-sha256': digest.digest('hex') });
    let sent = 0;
    const pump = (): void => {
      while (sent < totalBytes) {
        const chunk = PATTERN_CHUNK.subarray(0, Math.min(PATTERN_CHUNK.length, totalBytes - sent));
        sent += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://upstream.test');
    if (url.pathname === '/reset') {
      req.socket.destroy();
      return;
    }
    if (url.pathname === '/reset-mid-body') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 1024 * 1024 });
      res.write(PATTERN_CHUNK.subarray(0, 1024), () => req.socket.destroy());
      return;
    }
    const digest = createHash('sha256');
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => {
      bodyBytes += chunk.length;
      digest.update(chunk);
      noteBodyProgress(bodyBytes);
    });
    req.on('end', () => {
      const record: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes, bodySha256: digest.digest('hex') };
      requests.push(record);
      if (url.pathname === '/download') {
        download(res, Number(url.searchParams.get('bytes') ?? '0'));
      } else if (url.pathname === '/slow') {
        const timer = setTimeout(() => {
          timers.delete(timer);
          echo(res, record);
        }, Number(url.searchParams.get('ms') ?? '0'));
        timers.add(timer);
      } else {
        echo(res, record);
      }
    });
  });

  const webSockets = new WebSocketServer({ server });
  webSockets.on('connection', (socket, req) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes: 0, bodySha256: EMPTY_SHA256 });
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    waitForBodyBytes(bytes) {
      if (largestBodySoFar >= bytes) return Promise.resolve();
      return new Promise((resolve) => bodyWaiters.push({ bytes, resolve }));
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const client of webSockets.clients) client.terminate();
      await new Promise<void>((resolve) => webSockets.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
