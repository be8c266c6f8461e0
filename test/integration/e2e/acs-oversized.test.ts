/**
 * An oversized post to the ACS always gets its 413, also while the client is still sending: the proxy reads and
 * discards the rest of the body for a bounded time (lingering close) instead of closing a socket the client is still
 * writing to, which would make the client's TCP stack drop the answer.
 */
import { connect } from 'node:net';
import t from 'tap';
import { HOSTS, startStack } from '../../support/stack.js';

const BODY_BYTES = 20 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 'a');

/** Sends the whole body however early the answer comes, as curl and browsers do; resolves with everything read. */
function postHuge(port: number, chunked: boolean): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(answer));
    socket.setTimeout(20_000, () => socket.destroy());
    const framing = chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${BODY_BYTES}`;
    socket.write(`POST /_sso/saml/acs HTTP/1.1\r\nHost: ${HOSTS.jira}\r\nContent-Type: application/x-www-form-urlencoded\r\n${framing}\r\nConnection: close\r\n\r\n`);
    let sent = 0;
    const pump = (): void => {
      while (sent < BODY_BYTES) {
        sent += CHUNK.length;
        const piece = chunked ? Buffer.concat([Buffer.from(`${CHUNK.length.toString(16)}\r\n`), CHUNK, Buffer.from('\r\n')]) : CHUNK;
        if (!socket.write(piece)) {
          socket.once('drain', pump);
          return;
        }
      }
      if (chunked) socket.write('0\r\n\r\n');
    };
    pump();
  });
}

t.test('a 20 MiB ACS post is answered 413 every time, with Content-Length and chunked, from a client that keeps writing', async (t) => {
  const stack = await startStack(t);
  for (let run = 0; run < 20; run++) {
    for (const chunked of [false, true]) {
      const answer = await postHuge(stack.proxyPort, chunked);
      t.match(answer, /^HTTP\/1\.1 413 /, `run ${run + 1}, ${chunked ? 'chunked' : 'Content-Length'}: the client read the 413`);
    }
  }
});
