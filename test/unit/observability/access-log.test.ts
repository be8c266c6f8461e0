/**
 * The hand-written access line is the line pino itself would write for the same fields, through the logger's own
 * destination (bindings, level, field order, escaping, undefined fields left out, pretty format).
 */
import { Writable } from 'node:stream';
import t from 'tap';
import { ACCESS_LOG_MESSAGE, createAccessLogWriter, millisecondsText, type AccessLine } from '../../../src/observability/access-log.js';
import { createLogger, type LogFormat } from '../../../src/observability/logger.js';

function capture(format: LogFormat = 'json') {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'info', format, destination }) };
}

const FULL: AccessLine = {
  reqId: '0b6f6d0e-7a52-4f0e-9c55-2d2f4f3c7e11',
  host: 'jira.example.com',
  app: 'jira',
  decision: 'forward',
  status: 200,
  durationUs: 1234,
  method: 'GET',
  path: '/browse/"quoted"\\back\nslash/ünïcödé/\u2028',
  clientIp: '2001:db8::7',
  user: 'alice',
};

const withoutTime = (line: string): Record<string, unknown> => {
  const { time, ...rest } = JSON.parse(line) as Record<string, unknown>;
  t.type(time, 'number');
  return rest;
};

t.test('the same line as pino writes, key for key and in the same order', async (t) => {
  for (const [name, fields] of [
    ['every field', FULL],
    ['undefined fields left out', { ...FULL, host: undefined, app: undefined, method: undefined, path: undefined, user: undefined }],
  ] as const) {
    const { lines, logger } = capture();
    const child = logger.child({ pid: 4242, role: 'worker' });
    const { durationUs, ...rest } = fields;
    // The fields as `logger.info` would get them: durationMs in milliseconds, in the same place.
    const asPinoFields = Object.fromEntries(Object.entries(rest).flatMap(([key, value]) => (key === 'status' ? [[key, value], ['durationMs', durationUs / 1000]] : [[key, value]])));
    child.info(asPinoFields, ACCESS_LOG_MESSAGE);
    createAccessLogWriter(child)(fields);
    await new Promise((resolve) => setImmediate(resolve));
    t.equal(lines.length, 2, name);
    const [byPino, byHand] = lines.map(withoutTime);
    t.same(byHand, byPino, `${name}: same fields and values`);
    t.same(Object.keys(byHand ?? {}), Object.keys(byPino ?? {}), `${name}: same order`);
  }
});

t.test('durationMs is the duration in milliseconds, written exactly as JSON.stringify writes micros / 1000', async (t) => {
  const samples = [0, 1, 9, 10, 99, 100, 101, 999, 1000, 1001, 1010, 1050, 1100, 1234, 12_000, 999_999, 86_400_000_000, 123_456_789_012];
  for (let micros = 0; micros < 5000; micros += 7) samples.push(micros);
  const wrong = samples.filter((micros) => millisecondsText(micros) !== JSON.stringify(micros / 1000));
  t.same(wrong, [], 'every sample as JSON.stringify writes it');
});

t.test('lines written within the same millisecond each carry their own fields', async (t) => {
  const { lines, logger } = capture();
  const write = createAccessLogWriter(logger);
  for (let index = 0; index < 50; index++) write({ ...FULL, reqId: `id-${index}`, durationUs: index });
  await new Promise((resolve) => setImmediate(resolve));
  const parsed = lines.map((line) => JSON.parse(line) as { reqId: string; durationMs: number; time: number });
  t.same(parsed.map((line) => line.reqId), Array.from({ length: 50 }, (_, index) => `id-${index}`));
  t.same(parsed.map((line) => line.durationMs), Array.from({ length: 50 }, (_, index) => index / 1000));
  t.ok(parsed.every((line, index) => index === 0 || line.time >= (parsed[index - 1]?.time ?? 0)), 'time never goes back');
});

t.test('the pretty format shows the access line like any other', async (t) => {
  const { lines, logger } = capture('pretty');
  createAccessLogWriter(logger)(FULL);
  t.equal(lines.length, 1);
  t.match(lines[0], /INFO.*request completed.*reqId.*0b6f6d0e/);
});
