// What Postbote reads from a message's fields, end to end (scriptable POP3 server → Postbote →
// smtp-server): the subject recorded for people, the envelope sender taken from the headers, and
// attachment names that come from MIME parts only.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SqliteStore } from '../../src/store/sqlite.js';
import { infoMailbox, left, world } from './fault-world.js';
import { runCli, writeConfig } from './helpers.js';

const message = (head: Array<string | Buffer>, body = 'Hallo.\r\n') =>
  Buffer.concat([
    ...head.flatMap((h) => [Buffer.isBuffer(h) ? h : Buffer.from(h), Buffer.from('\r\n')]),
    Buffer.from(`\r\n${body}`),
  ]);

async function records(dir: string) {
  const store = new SqliteStore(join(dir, 'state', 'postbote.sqlite'));
  try {
    return (await store.messagesOf('info')).sort((a, b) => a.id - b.id);
  } finally {
    await store.close();
  }
}

describe('message fields', () => {
  test('subjects are recorded human-readable: RFC 2047, UTF-8, undeclared 8-bit, no controls', async () => {
    const w = await world(
      [
        message([
          'From: a@shop.example',
          'Subject: =?UTF-8?Q?Anfrage_zu_Ihrem_Angebot_f=C3=BCr_M=C3=A4rz?=',
          'Message-ID: <1@x>',
        ]),
        message([
          'From: a@shop.example',
          Buffer.from('Subject: Gr\u00fc\u00dfe aus K\u00f6ln', 'utf8'),
          'Message-ID: <2@x>',
        ]),
        message([
          'From: a@shop.example',
          Buffer.from([...Buffer.from('Subject: Gr'), 0xfc, 0xdf, 0x65]),
          'Message-ID: <3@x>',
        ]),
        message(['From: a@shop.example', 'Subject: ok\u001b[31m red', 'Message-ID: <4@x>']),
      ],
      'deliverTo: [info@corp.local]',
    );
    const s = await w.fetch();
    assert.equal(s.ok, true, s.error?.describe());
    assert.deepEqual(
      (await records(w.tmp.path)).map((r) => r.subject),
      ['Anfrage zu Ihrem Angebot für März', 'Grüße aus Köln', 'Grüße', 'ok [31m red'],
    );
  });

  test('the envelope sender is a full address from the address parser, or the null sender', async () => {
    const w = await world(
      [
        message(['From: "<ceo@corp.local>" <attacker@evil.example>', 'Subject: spoof', 'Message-ID: <1@x>']),
        message(['From: Mail Delivery Subsystem <postmaster>', 'Subject: bounce', 'Message-ID: <2@x>']),
        message(['Return-Path: <>', 'From: Alice <alice@example.net>', 'Subject: dsn', 'Message-ID: <3@x>']),
        message([
          'Return-Path: garbage <',
          'From: Alice <alice@example.net>',
          'Subject: odd',
          'Message-ID: <4@x>',
        ]),
      ],
      'deliverTo: [info@corp.local]',
    );
    const s = await w.fetch();
    assert.equal(s.ok, true, s.error?.describe());
    const bySubject = new Map(
      w.receiver.received.map((m) => [/^Subject: (.*)$/m.exec(m.raw.toString())?.[1], m.from]),
    );
    assert.deepEqual(Object.fromEntries(bySubject), {
      spoof: 'attacker@evil.example',
      bounce: '',
      dsn: '',
      odd: '',
    });
    assert.deepEqual(
      (await records(w.tmp.path)).map((r) => r.state),
      ['delivered', 'delivered', 'delivered', 'delivered'],
    );
    assert.equal(left(w), 0);
  });

  test('a rule on attachment names sees MIME parts, not body lines that look like headers', async () => {
    const w = await world(
      [
        message(
          ['From: a@example.net', 'Subject: how to', 'Message-ID: <1@x>', 'Content-Type: text/plain'],
          'Put this in your mail:\r\nContent-Disposition: attachment; filename=invoice.exe\r\n',
        ),
        message(
          [
            'From: a@example.net',
            'Subject: real',
            'Message-ID: <2@x>',
            'Content-Type: multipart/mixed; boundary=b',
          ],
          '--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: application/octet-stream\r\n' +
            "Content-Disposition: attachment; filename*=UTF-8''Rechnung%20M%C3%A4rz.exe\r\n\r\nTVqQ\r\n--b--\r\n",
        ),
      ],
      `deliverTo: [info@corp.local]
    rules:
      - if: { attachment: "*.exe" }
        then: [{ quarantine: executable attachment }]`,
    );
    const s = await w.fetch();
    assert.equal(s.ok, true, s.error?.describe());
    const recs = await records(w.tmp.path);
    assert.deepEqual(
      recs.map((r) => [r.subject, r.state]),
      [
        ['how to', 'delivered'],
        ['real', 'quarantined'],
      ],
    );
  });
});

test('a subject stored raw by an earlier version is read decoded', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'postbote-subject-'));
  try {
    const store = new SqliteStore(join(dir, 's.sqlite'));
    await store.migrate();
    const rec = await store.addSpooled({
      mailbox: 'info',
      uid: 'u1',
      spoolKey: null,
      size: 1,
      sha256: '',
      messageId: null,
      sender: '',
      subject: '=?UTF-8?Q?f=C3=BCr_M=C3=A4rz?=',
      recipients: [],
      fetchedAt: 1,
    });
    assert.equal((await store.get(rec.id))?.subject, 'für März');
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('postbote route shows subjects decoded and without control characters', async () => {
  const w = await world(
    [
      message([
        'From: a@shop.example',
        'Subject: =?UTF-8?Q?Anfrage_f=C3=BCr_M=C3=A4rz?=',
        'Message-ID: <1@x>',
      ]),
      message([
        'From: a@shop.example',
        'Subject: =?utf-8?q?clear=1B[2J=0D=0Afake_line?=',
        'Message-ID: <2@x>',
      ]),
    ],
    'deliverTo: [info@corp.local]',
  );
  const config = await writeConfig(
    w.tmp.path,
    `state: ${w.tmp.path}/state
target: { host: 127.0.0.1, port: ${w.receiver.port}, tls: none, helo: postbote.test }
mailboxes:
${infoMailbox(w, 'deliverTo: [info@corp.local]')}
`,
  );
  const text = await runCli(['route', '-c', config, '--mailbox', 'info']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /\(\d+ bytes\) Anfrage für März\n/);
  assert.match(text.stdout, /\(\d+ bytes\) clear \[2J fake line\n/);
  assert.ok(!text.stdout.includes('\u001b'), 'no escape reaches the terminal');
  const json = await runCli(['route', '-c', config, '--mailbox', 'info', '--json']);
  const subjects = (JSON.parse(json.stdout) as { messages: Array<{ subject: string }> }).messages.map(
    (m) => m.subject,
  );
  assert.deepEqual(subjects, ['Anfrage für März', 'clear [2J fake line']);
});
