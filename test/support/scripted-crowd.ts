/**
 * A stand-in for Crowd that gives one canned reply: a real HTTP server on 127.0.0.1 (port 0) answering every
 * request, whatever its method and path, with the same status, content type and body. For the replies the demo
 * fake Crowd never gives (broken JSON, HTML error pages, reasons it does not know).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Starts the server (closed at the test's teardown) and returns its Crowd base URL, `http://127.0.0.1:<port>/crowd`. */
export async function startScriptedCrowd(t: Teardown, status: number, contentType: string, body: string): Promise<string> {
  const server = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': contentType });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/crowd`;
}
