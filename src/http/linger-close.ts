import type { ServerResponse } from 'node:http';

/** After the proxy's own answer, how long and how much more of an unread body is read and thrown away. */
const LINGER_MS = 5_000;
const LINGER_MAX_BYTES = 64 * 1024 * 1024;

/**
 * What nginx's lingering close does, for every answer the proxy gives itself while the client is still sending a
 * body (a 413, a 408, a login redirect for a post): the rest is read and discarded for a bounded time and size, then
 * the connection is cut. A socket closed while the client still sends answers the next bytes with a reset, and the
 * client's TCP stack then throws away the answer it had not yet read; a body that is never cut holds the connection
 * for as long as a slow client likes. A body that ends in time leaves the connection usable for the next request.
 */
export function lingerAfterAnswer(res: ServerResponse): void {
  // On every request: a shared listener (no closure per request); `on`, as a response finishes once.
  res.on('finish', onAnswerFinished);
}

function onAnswerFinished(this: ServerResponse): void {
  const req = this.req;
  if (req.complete || req.socket.destroyed) return;
  let discarded = 0;
  const cut = (): void => {
    clearTimeout(timer);
    req.socket.destroy();
  };
  const timer = setTimeout(cut, LINGER_MS);
  timer.unref();
  const stop = (): void => clearTimeout(timer);
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > LINGER_MAX_BYTES) cut();
  });
  req.once('end', stop).once('close', stop);
  req.resume();
}
