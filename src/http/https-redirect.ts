/**
 * The plain-HTTP listener of `listen.httpRedirect`. A request for a configured app host gets a 308 to the same
 * path and query on https (308 makes the browser repeat the method and body there). The health endpoint answers
 * directly, so a load balancer may probe this port. Any other host gets 421: the listener never sends a browser
 * to a host the proxy does not serve.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { BadRequestError, UnknownHostError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { RequestHandler } from './request-handler.js';
import { redirect, respondError, sendJson } from './respond.js';
import { lingerAfterAnswer } from './linger-close.js';

export interface HttpsRedirectOptions {
  /** The apps' public hosts as compiled for https (`jira.example.com`, `jira.example.com:8443`). */
  readonly hosts: readonly string[];
  /** `<pathPrefix>/health`. */
  readonly healthPath: string;
  readonly logger: Logger;
}

export function createHttpsRedirect(options: HttpsRedirectOptions): RequestHandler {
  // Host name (without port) → the public https host, port included when it is not 443.
  const httpsHostByName = new Map<string, string>();
  for (const host of options.hosts) {
    const name = hostnameOf(host);
    if (!httpsHostByName.has(name)) httpsHostByName.set(name, host);
  }
  const healthPath = options.healthPath;

  return {
    onRequest(req: IncomingMessage, res: ServerResponse): void {
      lingerAfterAnswer(res);
      const url = req.url ?? '';
      const httpsHost = req.headers.host === undefined ? undefined : httpsHostByName.get(hostnameOf(req.headers.host.toLowerCase()));
      if (httpsHost === undefined) {
        fail(new UnknownHostError(`the HTTP redirect listener (listen.httpRedirect) serves no host "${req.headers.host?.slice(0, 200) ?? '(none)'}"`, { detail: 'unknown_host' }), req, res);
        return;
      }
      if (!url.startsWith('/')) {
        fail(new BadRequestError(`request target "${url.slice(0, 200)}" is not a path`, { detail: 'request_target' }), req, res);
        return;
      }
      const q = url.indexOf('?');
      if ((q < 0 ? url : url.slice(0, q)) === healthPath) {
        sendJson(res, 200, { status: 'ok' });
        return;
      }
      redirect(res, 308, `https://${httpsHost}${url}`);
    },

    /** WebSocket clients do not follow redirects: they must use wss:// themselves. */
    onUpgrade(_req: IncomingMessage, socket: Duplex): void {
      socket.on('error', () => socket.destroy());
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n\r\nUse wss:// (HTTPS).\n');
    },
  };

  function fail(error: UnknownHostError | BadRequestError, req: IncomingMessage, res: ServerResponse): void {
    respondError(options.logger, error, req, res, { reqId: randomUUID(), host: req.headers.host, app: undefined });
  }
}

/** `jira.example.com:80` → `jira.example.com`; `[::1]:80` → `[::1]`. */
function hostnameOf(host: string): string {
  const end = host.startsWith('[') ? host.indexOf(']') + 1 : host.indexOf(':');
  return end <= 0 ? host : host.slice(0, end);
}
