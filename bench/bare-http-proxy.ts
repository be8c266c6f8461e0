/**
 * The baseline every crowd-sso-proxy row is compared with: http-proxy alone, with the same keep-alive agent and
 * proxy options as the forwarder (src/proxy/forwarder.ts), without authentication or header hygiene.
 */
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import { UPSTREAM_AGENT_OPTIONS } from '../src/proxy/forwarder.js';

export interface BareHttpProxy {
  readonly port: number;
  close(): Promise<void>;
}

export async function startBareHttpProxy(upstreamPort: number): Promise<BareHttpProxy> {
  const agent = new http.Agent({ ...UPSTREAM_AGENT_OPTIONS });
  const proxy = httpProxy.createProxyServer({
    target: { protocol: 'http:', host: '127.0.0.1', port: upstreamPort },
    agent,
    ws: true,
    xfwd: false,
    changeOrigin: false,
    prependPath: true,
    followRedirects: false,
  });
  proxy.on('error', (_error, _req, target) => {
    if (target instanceof http.ServerResponse) {
      if (!target.headersSent) target.writeHead(502);
      target.end();
    } else {
      (target as Duplex).destroy();
    }
  });
  const server: Server = http.createServer((req, res) => proxy.web(req, res));
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    proxy.ws(req, socket, head);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
