/**
 * The bypass corpus's oracle (test/fixtures/bypass-corpus.json, run by test/integration/e2e/bypass-corpus.test.ts and
 * test/integration/forward-auth/nginx-bypass-corpus.test.ts): what a Jira-preset app may receive anonymously, read the
 * way Tomcat and Jira read a path, and the headers that must never reach it; plus raw requests on their own connection.
 */
import { connect } from 'node:net';
import type { RecordedRequest } from './upstream-server.js';

/** What jira serves to anonymous requests, after the path is read as the app reads it (its logout URLs end its own session). */
export const PUBLIC_EFFECTIVE = [/^\/secure\/Logout(?:!default)?\.jspa$/, /^\/logout$/, /^\/status$/, /^\/download\/(?:batch|resources|contextbatch|superbatch)\//, /^\/images\//, /^\/rest\/applinks\/1\.0\/manifest$/];
/** Where jira takes the client's own credentials (preset jira's credentials rules), except the password login. */
export const CREDENTIALS_EFFECTIVE = [/^\/rest\//, /^\/plugins\/servlet\/oauth\//, /^\/plugins\/servlet\/applinks\//];
export const PASSWORD_LOGIN = new Set(['/rest/tsv/1.0/authenticate', '/login.jsp']);
export const APP_CREDENTIALS = /^(?:basic|bearer|oauth)\s+\S/i;

/**
 * The paths the app may end up serving for a request target: Tomcat's reading (path parameters dropped, percent-decoding,
 * `\` as `/`, empty and dot segments resolved) and Jira's `/s/(.*)/_/(.*)` → `/$2` rewrite (case-insensitive, on the
 * raw or the decoded path), in every order. A conservative oracle: the proxy must be right for all of them.
 */
export function effectivePaths(target: string): string[] {
  const raw = target.split('?')[0]?.split('#')[0] ?? '';
  const rewrite = (path: string): string => path.replace(/^\/s\/(.*)\/_\/(.*)$/is, '/$2');
  const tomcat = (path: string): string => {
    let decoded = path;
    for (let i = 0; i < 3; i++) {
      try {
        decoded = decodeURIComponent(decoded);
      } catch {
        break;
      }
    }
    const segments: string[] = [];
    for (const segment of decoded.replace(/\\/g, '/').split('/')) {
      const name = segment.split(';')[0] ?? '';
      if (name === '' || name === '.') continue;
      if (name === '..') segments.pop();
      else segments.push(name);
    }
    return `/${segments.join('/')}${decoded.endsWith('/') && segments.length > 0 ? '/' : ''}`;
  };
  return [...new Set([rewrite(tomcat(raw)), tomcat(rewrite(raw)), tomcat(rewrite(tomcat(raw)))])];
}

export const isAnonymousAllowed = (received: RecordedRequest): boolean =>
  effectivePaths(received.url).every((path) => {
    if (PUBLIC_EFFECTIVE.some((pattern) => pattern.test(path))) return true;
    const authorization = received.headers.authorization;
    return authorization !== undefined && APP_CREDENTIALS.test(authorization) && !PASSWORD_LOGIN.has(path) && CREDENTIALS_EFFECTIVE.some((pattern) => pattern.test(path));
  });

export const CROWD_MENTION = /crowd\.token_key/gi;
export const FORGED_HEADERS = [
  'x-remote-user', 'x-forwarded-user', 'remote-user', 'forwarded', 'x-real-ip', 'x-original-url', 'x-rewrite-url', 'x-original-uri', 'x-forwarded-uri',
  'x-forwarded-method', 'x-http-method-override', 'x-http-method', 'x-method-override', 'proxy-authorization', 'http2-settings', 'upgrade',
];

/** One request over its own connection, raw bytes as written; the whole answer once the proxy closes (`Connection: close`). */
export function rawRequest(port: number, head: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = (): void => resolve(Buffer.concat(chunks).toString('latin1'));
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', done);
    socket.on('error', () => undefined);
    socket.write(head, 'latin1');
  });
}
