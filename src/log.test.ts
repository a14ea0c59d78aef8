import assert from 'node:assert/strict';
import { mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { clip, createLogger, reopenLog, textLine } from './log.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function tempFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'postbote-log-'));
  dirs.push(dir);
  return join(dir, 'postbote.log');
}

/** Writes are asynchronous (the file opens in the background): waits until `file` holds `text`. */
async function written(file: string, text: string): Promise<string> {
  for (let i = 0; i < 250; i++) {
    const content = await readFile(file, 'utf8').catch(() => '');
    if (content.includes(text)) return content;
    await sleep(20);
  }
  assert.fail(`${text} not written to ${file} within 5 s`);
}

test('JSON lines carry the level name and each key once (a child binding repeated in the call)', async () => {
  const file = await tempFile();
  const logger = createLogger({ file, format: 'json', level: 'info' });
  logger.child({ mailbox: 'info', component: 'pop3' }).warn({ mailbox: 'info', uid: 'u1' }, 'hello');
  const line = (await written(file, 'hello')).trim();
  assert.equal(line.match(/"mailbox"/g)?.length, 1, line);
  const entry = JSON.parse(line);
  assert.equal(entry.level, 'warn');
  assert.equal(entry.msg, 'hello');
  assert.equal(entry.uid, 'u1');
});

test('a file gets JSON by default; secrets stay masked', async () => {
  const file = await tempFile();
  const logger = createLogger({ file });
  logger.info({ password: 'hunter2', user: 'a' }, 'login');
  const text = await written(file, 'login');
  assert.doesNotMatch(text, /hunter2/);
  assert.equal(JSON.parse(text).level, 'info');
});

test('text lines: time, level, message, then the fields', () => {
  assert.equal(
    textLine({
      time: '2026-01-05T10:00:00.000Z',
      level: 'info',
      msg: 'done',
      mailbox: 'info',
      to: ['a b'],
      n: 3,
    }),
    '2026-01-05T10:00:00.000Z INFO  done mailbox=info to="[\\"a b\\"]" n=3',
  );
});

test('text format writes text lines', async () => {
  const file = await tempFile();
  const logger = createLogger({ file, format: 'text' });
  logger.error({ mailbox: 'info' }, 'broken');
  assert.match(await written(file, 'broken'), /^\S+ ERROR broken mailbox=info\n$/);
});

test('reopenLog: after logrotate renamed the file, new lines go to a new file', async () => {
  const file = await tempFile();
  const logger = createLogger({ file, format: 'json' });
  logger.info('before');
  await written(file, 'before');
  await rename(file, `${file}.1`);
  reopenLog(logger);
  await sleep(50);
  logger.info('after');
  const fresh = await written(file, 'after');
  assert.match(await readFile(`${file}.1`, 'utf8'), /before/);
  assert.match(fresh, /after/);
  assert.doesNotMatch(fresh, /before/);
});

test('clip: control characters escaped, long values cut with their length said', () => {
  const table: Array<[string | null, number | undefined, string]> = [
    ['plain', undefined, 'plain'],
    [null, undefined, ''],
    ['a\r\nb\tc\u0000\u007f\u2028', undefined, 'a\\r\\nb\\tc\\x00\\x7f\\u2028'],
    ['x'.repeat(10), 4, 'xxxx… (10 chars)'],
  ];
  for (const [value, max, expected] of table) assert.equal(clip(value, max), expected);
});
