// `postbote queue` as a real process on a state whose records carry what a pass leaves (issues 13, 16):
// `queue show` prints the filter's verdict with each scanner's result and the action taken, and an
// action run without a service is logged with the OS user, as the web page's actions are.
import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { createRuntime } from '../../src/app/runtime.js';
import { loadConfig } from '../../src/config/index.js';
import type { FilterVerdict } from '../../src/filters/types.js';
import { silentLogger } from '../../src/log.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { runCli, writeConfig } from './helpers.js';

const SPAM: FilterVerdict = {
  verdict: 'spam',
  action: 'quarantine',
  results: [
    {
      scanner: 'rspamd 127.0.0.1:11333',
      type: 'rspamd',
      status: 'spam',
      score: 15,
      required: 15,
      symbols: ['GTUBE', 'MISSING_DATE'],
      action: 'reject',
    },
    {
      scanner: 'clamd /run/clamav/clamd.ctl',
      type: 'clamd',
      status: 'skipped',
      reason: 'scanner failed: timeout',
    },
  ],
  edits: { add: [], remove: [] },
  summary: 'spam (rspamd 127.0.0.1:11333: spam 15.0/15.0, reject, GTUBE MISSING_DATE): quarantined',
  notify: false,
  at: Date.UTC(2026, 10, 29, 10),
};

describe('postbote queue on filtered records', () => {
  let tmp: TempDir;
  let file: string;
  let spam: number;
  let plain: number;

  before(async () => {
    tmp = await makeTempDir('postbote-queue-records-');
    file = await writeConfig(
      tmp.path,
      `state: ${tmp.path}/state
target: { host: 127.0.0.1, port: 2525, tls: none, helo: postbote.test }
mailboxes:
  - { name: info, host: 127.0.0.1, port: 1110, tls: none, user: info@example.com, password: pw, deliverTo: [info@corp.local] }
`,
    );
    // The records as a pass leaves them: spooled, filtered as spam, quarantined; and one never filtered.
    const runtime = await createRuntime(loadConfig(file), silentLogger());
    try {
      const store = runtime.store;
      const add = (n: number) =>
        store.addSpooled({
          mailbox: 'info',
          uid: `u${n}`,
          spoolKey: null,
          size: 120,
          sha256: `${n}`.padStart(64, '0'),
          messageId: `<q${n}@example.net>`,
          sender: 's@example.net',
          subject: `queued ${n}`,
          recipients: [{ address: 'info@corp.local', status: 'pending', reason: 'deliverTo' }],
          fetchedAt: Date.UTC(2026, 10, 29, 9),
        });
      const quarantine = async (id: number, reason: string) =>
        store.recordAttempt(
          id,
          {
            state: 'quarantined',
            recipients: [{ address: 'info@corp.local', status: 'pending', reason: 'deliverTo' }],
            nextAttemptAt: null,
            reason,
            spoolKey: null,
            countsAsAttempt: false,
          },
          { at: Date.UTC(2026, 10, 29, 10), outcome: 'quarantined', detail: reason, recipients: [] },
        );
      const s = await add(1);
      await store.recordFilter(s.id, SPAM, s.recipients);
      spam = (await quarantine(s.id, `filter: ${SPAM.summary}`)).id;
      plain = (await quarantine((await add(2)).id, 'larger than maxMessageSize')).id;
    } finally {
      await runtime.close();
    }
  });
  after(async () => {
    await tmp?.remove();
  });

  test('queue show prints the verdict, each scanner and the action', async () => {
    const shown = await runCli(['queue', 'show', String(spam), '-c', file]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^ {2}filter: {6}spam, quarantined$/m);
    assert.match(
      shown.stdout,
      /^ {4}rspamd 127\.0\.0\.1:11333: spam 15\.0\/15\.0, reject, GTUBE MISSING_DATE$/m,
    );
    assert.match(
      shown.stdout,
      /^ {4}clamd \/run\/clamav\/clamd\.ctl: not scanned, scanner failed: timeout$/m,
    );
    const json = JSON.parse((await runCli(['queue', 'show', String(spam), '--json', '-c', file])).stdout) as {
      message: { filter: FilterVerdict };
    };
    assert.equal(json.message.filter.verdict, 'spam');
    const none = await runCli(['queue', 'show', String(plain), '-c', file]);
    assert.match(none.stdout, /^ {2}filter: {6}not filtered$/m);
  });

  test('an action run alone is logged with the OS user', async () => {
    // The log level as configured (info): a change to the queue is worth a line even from the CLI.
    const del = await runCli(['queue', 'delete', String(plain), '--yes', '-c', file], {
      POSTBOTE_LOG_LEVEL: undefined,
    });
    assert.equal(del.code, 0, del.stderr);
    const lines = del.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const line = lines.find((l) => l.action === 'delete');
    assert.ok(line, del.stderr);
    assert.equal(line.level, 'info');
    assert.equal(line.user, userInfo().username);
    assert.equal(line.id, plain);
    assert.equal(line.mailbox, 'info');
    assert.match(String(line.msg), new RegExp(`message ${plain} deleted by ${userInfo().username}`));
  });
});
