/**
 * Shared setup for the forwarder tests: a bare node:http front end handing every request to the forwarder, the
 * recording upstream, hand-made upstreams (raw bytes, bare node:http with WebSockets), and clients (node:http,
 * raw sockets, WebSockets).
 */
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import type { Test } from 'tap';
import WebSocket, { WebSocketServer } from 'ws';
import type { AppConfig } from '../../../src/config/runtime-config.js';
import { createForwarder, type ForwardContext, type UpstreamError } from '../../../src/proxy/forwarder.js';
import { testAppConfig } from '../../support/app-config.js';
import { startUpstream, type RecordedRequest, type Upstream } from '../../support/upstream-server.js';

export const CLIENT_IP = '203.0.113.7';
export const JIRA_HOST = 'jira.example.test:8443';
export const MIB = 1024 * 1024;

export function appFor(name: string, host: string, upstreamUrl: string, upstreamTimeoutMs = 30_000): AppConfig {
  return testAppConfig({ name, hosts: [host], upstream: new URL(upstreamUrl), upstreamTimeoutMs });
}

export interface Reported {
  readonly error: UpstreamError;
  readonly headersSent: boolean;
}

export interface Front {
  readonly port: number;
  readonly errors: Reported[];
  readonly upgradeErrors: UpstreamError[];
  /** What the next requests get as `ctx.cookieHeader`. */
  cookieHeader: string | undefined;
  closeForwarder(): Promise<void>;
}

/** A bare node:http front end that hands every request to the forwarder, the app chosen by Host. */
export async function startFront(t: Test, apps: readonly AppConfig[]): Promise<Front> {
  let requestCount = 0;
  const front: Front = { port: 0, errors: [], upgradeErrors: [], cookieHeader: undefined, closeForwarder: () => forwarder.close() };
  const forwarder = createForwarder(apps, {
    onUpstreamError(error, _req, res) {
      front.errors.push({ error, headersSent: res.headersSent });
      if (res.headersSent) return;
      res.writeHead(error.status, { 'content-type': 'text/plain' });
      res.end(error.code);
    },
    onUpgradeError(error) {
      front.upgradeErrors.push(error);
    },
  });
  const upstreamFor = (req: IncomingMessage) => forwarder.upstreamOf(apps.find((app) => app.hosts.includes(req.headers.host ?? '')) ?? (apps[0] as AppConfig));
  const contextFor = (req: IncomingMessage): ForwardContext => {
    requestCount += 1;
    return {
      clientIp: CLIENT_IP,
      proto: 'https',
      host: req.headers.host ?? '',
      requestId: `req-${requestCount}`,
      cookieHeader: front.cookieHeader,
      dropSetCookie: undefined,
      sessionToken: undefined,
      forwardedAtMs: undefined,
    };
  };
  const server = createServer((req, res) => upstreamFor(req).forward(req, res, contextFor(req)));
  server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => upstreamFor(req).forwardUpgrade(req, socket, head, contextFor(req)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    await forwarder.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return Object.assign(front, { port: (server.address() as AddressInfo).port });
}

/** The recording upstream, closed at the test's teardown. */
export async function upstreamFor(t: Test): Promise<Upstream> {
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  return upstream;
}

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** One request on a fresh connection (Host: JIRA_HOST unless given); the whole reply. */
export function send(port: number, path: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: { host: JIRA_HOST, ...options.headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The request the recording upstream saw, from its JSON echo. */
export function echoed(reply: Reply): RecordedRequest {
  return JSON.parse(reply.body.toString('utf8')) as RecordedRequest;
}

/** One request over a raw socket; the whole response as text once the proxy closes the connection. */
export function rawExchange(port: number, request: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (data: Buffer) => chunks.push(data));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
  });
}

/** An upstream that answers every request with `head` and `body` exactly as given (raw bytes on the socket). */
export async function rawUpstream(t: Test, head: string, body: string): Promise<string> {
  const server = createTcpServer((socket: Socket) => {
    let seen = '';
    socket.on('data', (data: Buffer) => {
      seen += data.toString('latin1');
      if (!seen.includes('\r\n\r\n')) return;
      seen = '';
      socket.write(head + body);
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export function openWebSocket(port: number, headers: Record<string, string> = {}): WebSocket {
  return new WebSocket(`ws://127.0.0.1:${port}/plugins/servlet/socket`, { headers: { host: JIRA_HOST, ...headers } });
}

/** A hand-made upstream, for tests that must watch the upstream side of a connection end. */
export async function startBareUpstream(t: Test, onRequest: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; webSockets: WebSocketServer }> {
  const server = createServer(onRequest);
  const webSockets = new WebSocketServer({ server });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const client of webSockets.clients) client.terminate();
    await new Promise<void>((resolve) => webSockets.close(() => resolve()));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, webSockets };
}
