/**
 * A request whose body the test sends piece by piece, so that it is provably in flight (the upstream has received
 * part of it) while the test reloads or stops the proxy; then the rest is sent and the answer awaited.
 */
import { request, type IncomingHttpHeaders } from 'node:http';

export interface UploadAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface StreamingUpload {
  send(bytes: number): void;
  /** Sends the last `bytes` and resolves with the answer. */
  finish(bytes: number): Promise<UploadAnswer>;
}

export function startUpload(port: number, host: string, path: string, headers: Record<string, string> = {}): StreamingUpload {
  const req = request({ host: '127.0.0.1', port, method: 'POST', path, headers: { ...headers, host, 'content-type': 'application/octet-stream' } });
  const answer = new Promise<UploadAnswer>((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  req.flushHeaders();
  return {
    send: (bytes) => {
      req.write(Buffer.alloc(bytes, 0x61));
    },
    finish: (bytes) => {
      req.end(Buffer.alloc(bytes, 0x62));
      return answer;
    },
  };
}
