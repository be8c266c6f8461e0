/**
 * The default JSON log destination (written in batches) in a real child process writing to a pipe:
 * nothing is lost when the process exits in the middle of a batch, lines keep their order across loggers, and a
 * line logged while the proxy is otherwise quiet is written at once, not held for a batch.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { REPO_ROOT } from '../../support/proxy-process.js';

const LOGGER_MODULE = pathToFileURL(join(REPO_ROOT, 'dist/src/observability/logger.js')).href;

interface Child {
  readonly lines: () => Record<string, unknown>[];
  readonly exited: Promise<number | null>;
  readonly firstLine: Promise<Record<string, unknown>>;
  kill(): void;
}

function runScript(body: string): Child {
  const script = `import { createLogger } from ${JSON.stringify(LOGGER_MODULE)};\n${body}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  let resolveFirst: (line: Record<string, unknown>) => void = () => {};
  const firstLine = new Promise<Record<string, unknown>>((resolve) => (resolveFirst = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
    const nl = text.indexOf('\n');
    if (nl >= 0) resolveFirst(JSON.parse(text.slice(0, nl)) as Record<string, unknown>);
  });
  return {
    lines: () => text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>),
    exited: new Promise((resolve) => child.once('close', (code) => resolve(code))),
    firstLine,
    kill: () => child.kill('SIGKILL'),
  };
}

t.test('lines logged right before process.exit() are all written, whole and in order', async (t) => {
  const child = runScript(`
    const logger = createLogger({ level: 'info' });
    for (let i = 0; i < 500; i++) logger.info({ i, filler: 'x'.repeat(300) }, 'line');
    process.exit(3);
  `);
  t.equal(await child.exited, 3);
  const lines = child.lines();
  t.equal(lines.length, 500, 'no line lost');
  t.same(
    lines.map((line) => line['i']),
    Array.from({ length: 500 }, (_, i) => i),
    'in order',
  );
});

t.test('two loggers of one process share the destination: their lines keep the order they were logged in', async (t) => {
  const child = runScript(`
    const a = createLogger({ level: 'info' });
    const b = createLogger({ level: 'info' }).child({ role: 'b' });
    a.info({ n: 1 }, 'one');
    b.info({ n: 2 }, 'two');
    setImmediate(() => { a.info({ n: 3 }, 'three'); b.warn({ n: 4 }, 'four'); });
  `);
  t.equal(await child.exited, 0);
  t.same(
    child.lines().map((line) => line['n']),
    [1, 2, 3, 4],
  );
});

t.test('a line logged while the process is otherwise idle is written at once', async (t) => {
  const child = runScript(`
    createLogger({ level: 'info' }).warn('the only line for a while');
    setTimeout(() => {}, 60_000);
  `);
  t.teardown(() => child.kill());
  let timer: NodeJS.Timeout | undefined;
  const line = await Promise.race([child.firstLine, new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), 10_000)))]);
  clearTimeout(timer);
  t.not(line, 'late', 'seen while the process still runs');
  t.match(line, { msg: 'the only line for a while', level: 40 });
});
