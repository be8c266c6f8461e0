/**
 * The forwarder streams: large uploads and downloads pass without buffering, a client leaving mid-download releases
 * the upstream.
 */
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import t from 'tap';
import { JIRA_HOST, MIB, appFor, startFront, upstreamFor, type Reply, echoed, startBareUpstream } from './forwarder-setup.js';

t.test('a 50 MB upload streams through: the app gets the first bytes before the client has sent the rest', { timeout: 60_000 }, async (t) => {
  const upstream = await upstreamFor(t);
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url)]);
  const totalBytes = 50 * MIB;
  const chunk = Buffer.alloc(MIB, 0x5a);
  const digest = createHash('sha256');

  const reply = new Promise<Reply>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: front.port, path: '/upload', method: 'POST', headers: { host: JIRA_HOST, 'content-length': totalBytes }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (data: Buffer) => chunks.push(data));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    const write = async (): Promise<void> => {
      req.write(chunk);
      digest.update(chunk);
      // A proxy that buffered the body would never let these bytes through before the end: the test would hang.
      await upstream.waitForBodyBytes(1);
      for (let sent = MIB; sent < totalBytes; sent += MIB) {
        digest.update(chunk);
        if (!req.write(chunk)) await new Promise((resolve) => req.once('drain', resolve));
      }
      req.end();
    };
    write().catch(reject);
  });

  const seen = echoed(await reply);
  t.equal(seen.bodyBytes, totalBytes);
  t.equal(seen.bodySha256, digest.digest('hex'), 'the body arrives unchanged');
  t.equal(front.errors.length, 0);
});

t.test('a 50 MB download streams through unchanged', { timeout: 60_000 }, async (t) => {
  const upstream = await upstreamFor(t);
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url)]);
  const totalBytes = 50 * MIB;
  const result = await new Promise<{ bytes: number; sha256: string; expected: unknown }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: front.port, path: `/download?bytes=${totalBytes}`, headers: { host: JIRA_HOST }, agent: false }, (res) => {
      const digest = createHash('sha256');
      let bytes = 0;
      res.on('data', (data: Buffer) => {
        bytes += data.length;
        digest.update(data);
      });
      res.on('end', () => resolve({ bytes, sha256: digest.digest('hex'), expected: res.headers['x-body-sha256'] }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  t.equal(result.bytes, totalBytes);
  t.equal(result.sha256, result.expected);
});

t.test('a client that leaves in the middle of a download releases the upstream connection, and nothing is reported', async (t) => {
  let upstreamClosed!: () => void;
  const released = new Promise<void>((resolve) => (upstreamClosed = resolve));
  const upstream = await startBareUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-length': 1024 * MIB });
    const chunk = Buffer.alloc(64 * 1024, 1);
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
    res.on('close', upstreamClosed);
  });
  const front = await startFront(t, [appFor('jira', JIRA_HOST, upstream.url)]);
  const req = request({ host: '127.0.0.1', port: front.port, path: '/big', headers: { host: JIRA_HOST }, agent: false }, (res) => {
    res.once('data', () => req.destroy());
  });
  req.on('error', () => undefined);
  req.end();
  await released;
  t.pass('the upstream response was closed (no need to wait for the upstream timeout)');
  t.equal(front.errors.length, 0, 'a client leaving is not an upstream failure');
});
