/**
 * The upstream every benchmark row ends at: a small HTML page, a 1 MiB download and a WebSocket echo, all answered
 * from memory so that the upstream costs the same in every row. Nothing is recorded (a long run must not grow).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

/** Path of the 1 MiB download; every other path answers the small page. */
export const DOWNLOAD_PATH = '/download';
export const DOWNLOAD_BYTES = 1024 * 1024;
/** About the size of a small Jira/Confluence REST answer or a redirect page. */
export const SMALL_PAGE_BYTES = 1024;

export interface BenchUpstream {
  readonly port: number;
  close(): Promise<void>;
}

function smallPage(): Buffer {
  const head = '<!DOCTYPE html><html><head><title>Benchmark page</title></head><body><p>';
  const tail = '</p></body></html>';
  return Buffer.from(head + 'x'.repeat(SMALL_PAGE_BYTES - head.length - tail.length) + tail);
}

export async function startBenchUpstream(): Promise<BenchUpstream> {
  const page = smallPage();
  const download = Buffer.alloc(DOWNLOAD_BYTES, 0x61);
  const server: Server = createServer((req, res) => {
    // Drain any request body before answering, as an application server does.
    req.resume();
    const isDownload = req.url === DOWNLOAD_PATH;
    res.writeHead(200, {
      'content-type': isDownload ? 'application/octet-stream' : 'text/html; charset=utf-8',
      'content-length': isDownload ? download.length : page.length,
    });
    res.end(isDownload ? download : page);
  });
  // Node's default keep-alive timeout (5 s) is above the forwarder's idle socket timeout, as with Tomcat.
  const webSockets = new WebSocketServer({ server });
  webSockets.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      for (const client of webSockets.clients) client.terminate();
      await new Promise<void>((resolve) => webSockets.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
