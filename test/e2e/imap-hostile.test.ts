// A hostile or failing IMAP server (test/e2e/imap-fake-server.ts): every fault gives a clear typed
// error, costs only the message it hit, and nothing undelivered is removed from the server.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { type Receiver, startReceiver } from '../support/smtp-receiver.js';
import { runCli, writeConfig } from './helpers.js';
import { type FakeImap, startFakeImap } from './imap-fake-server.js';

const mail = (n: number) =>
  Buffer.from(
    `From: a@example.net\r\nSubject: hostile ${n}\r\nMessage-ID: <m${n}@fake>\r\n\r\nbody ${n}\r\n`,
  );

let receiver: Receiver;
let tmp: TempDir;
let fake: FakeImap | undefined;
let run = 0;

before(async () => {
  receiver = await startReceiver();
  tmp = await makeTempDir('postbote-imap-hostile-');
});
beforeEach(() => {
  receiver.received.length = 0;
});
after(async () => {
  await fake?.stop();
  await receiver?.stop();
  await tmp?.remove();
});

interface Summary {
  ok: boolean;
  mailboxes: Array<{
    fetched: number;
    delivered: number;
    removed: number;
    error?: { code: string; message: string; temporary: boolean; reply?: { enhanced?: string } };
  }>;
}

async function fetchFrom(
  server: FakeImap,
  extra = '',
  tls = 'none',
): Promise<Summary['mailboxes'][number] & { log: string }> {
  const file = await writeConfig(
    tmp.path,
    `
state: ${tmp.path}/state-${run++}
target: { host: 127.0.0.1, port: ${receiver.port}, tls: none, helo: postbote.test }
mailboxes:
  - name: hostile
    protocol: imap
    host: 127.0.0.1
    port: ${server.port}
    tls: ${tls}
    user: u
    password: p
    deliverTo: [h@corp.local]
    timeouts: { idle: 2s, message: 2s }${extra}
`,
  );
  const r = await runCli(['fetch', '-c', file, '--json']);
  return { ...(JSON.parse(r.stdout) as Summary).mailboxes[0]!, log: r.stderr };
}

const subjects = () => receiver.received.map((m) => /Subject: (.*)\r\n/.exec(m.raw.toString())?.[1]).sort();
const left = (server: FakeImap) => server.messages.map((m) => m.uid);

async function withFake(bodies: Buffer[]): Promise<FakeImap> {
  await fake?.stop();
  fake = await startFakeImap(bodies);
  return fake;
}

test('a literal announced endless (2 GB) drops the connection, not memory; the other messages go through', async () => {
  const f = await withFake([mail(1), mail(2), mail(3)]);
  f.hook = (c, socket) => {
    if (c.name !== 'UID FETCH' || c.uid !== 2 || !/BODY\.PEEK\[\]/.test(c.line)) return false;
    socket.write('* 2 FETCH (UID 2 BODY[]<0> {2000000000}\r\n');
    return true;
  };
  const s = await fetchFrom(f);
  assert.equal(s.error?.code, 'PROTOCOL', JSON.stringify(s.error));
  assert.match(s.error?.message ?? '', /oversized response \(LiteralTooLarge\)/);
  assert.deepEqual(subjects(), ['hostile 1', 'hostile 3']);
  assert.deepEqual(left(f), [2], 'only the delivered messages were removed');
});

test('a literal shorter than announced stalls: a TIMEOUT for that message, nothing lost', async () => {
  const f = await withFake([mail(1), mail(2)]);
  f.hook = (c, socket) => {
    if (c.name !== 'UID FETCH' || c.uid !== 1 || !/BODY\.PEEK\[\]/.test(c.line)) return false;
    const data = mail(1);
    socket.write(
      `* 1 FETCH (UID 1 BODY[]<0> {${data.length + 50}}\r\n${data.toString('latin1')})\r\n${c.tag} OK done\r\n`,
    );
    return true;
  };
  const s = await fetchFrom(f);
  assert.equal(s.error?.code, 'TIMEOUT', JSON.stringify(s.error));
  assert.equal(s.error?.temporary, true);
  assert.deepEqual(subjects(), ['hostile 2']);
  assert.deepEqual(left(f), [1]);
});

test('a literal longer than the message (more than RFC822.SIZE) is refused, not taken for whole', async () => {
  const f = await withFake([mail(1), mail(2)]);
  f.hook = (c, socket) => {
    if (c.name !== 'UID FETCH' || c.uid !== 1 || !/BODY\.PEEK\[\]/.test(c.line)) return false;
    const data = Buffer.concat([mail(1), Buffer.from('injected trailing lines\r\n')]);
    socket.write(
      `* 1 FETCH (UID 1 BODY[]<0> {${data.length}}\r\n${data.toString('latin1')})\r\n${c.tag} OK done\r\n`,
    );
    return true;
  };
  const s = await fetchFrom(f);
  assert.equal(s.error?.code, 'IMAP_CHANGED', JSON.stringify(s.error));
  assert.match(s.error?.message ?? '', /more than the \d+ bytes listed/);
  assert.deepEqual(subjects(), ['hostile 2']);
  assert.deepEqual(left(f), [1]);
});

test('BYE in the middle of a FETCH: a temporary error, the message stays, the rest is delivered', async () => {
  const f = await withFake([mail(1), mail(2), mail(3)]);
  let byes = 0;
  f.hook = (c, socket) => {
    if (c.name !== 'UID FETCH' || c.uid !== 2 || !/BODY\.PEEK\[\]/.test(c.line)) return false;
    byes++;
    socket.write('* 2 FETCH (UID 2 BODY[]<0> {500}\r\nFrom: a@exa');
    setTimeout(() => socket.end('mple.net\r\n* BYE server shutting down\r\n'), 50);
    return true;
  };
  const s = await fetchFrom(f);
  assert.ok(byes >= 1);
  assert.equal(s.error?.temporary, true, JSON.stringify(s.error));
  assert.match(s.error?.code ?? '', /CONNECTION_CLOSED|IMAP_UNAVAILABLE|PROTOCOL/);
  assert.deepEqual(subjects(), ['hostile 1', 'hostile 3']);
  assert.deepEqual(left(f), [2]);
});

test('LOGIN answered NO [UNAVAILABLE]: IMAP_UNAVAILABLE, temporary, nothing fetched', async () => {
  const f = await withFake([mail(1)]);
  f.hook = (c, socket) => {
    if (c.name !== 'LOGIN') return false;
    socket.write(`${c.tag} NO [UNAVAILABLE] backend down, try later\r\n`);
    return true;
  };
  const s = await fetchFrom(f);
  assert.equal(s.error?.code, 'IMAP_UNAVAILABLE', JSON.stringify(s.error));
  assert.equal(s.error?.temporary, true);
  assert.equal(s.error?.reply?.enhanced, 'UNAVAILABLE');
  assert.equal(receiver.received.length, 0);
  assert.deepEqual(left(f), [1]);
});

test('UID MOVE answered NO [OVERQUOTA]: delivered once, kept on the server, moved by a later pass', async () => {
  const f = await withFake([mail(1)]);
  let full = true;
  f.hook = (c, socket) => {
    if (c.name !== 'UID MOVE') return false;
    if (full) {
      socket.write(`${c.tag} NO [OVERQUOTA] Archive is full\r\n`);
      return true;
    }
    for (const m of [...f.messages]) {
      socket.write(`* ${f.messages.indexOf(m) + 1} EXPUNGE\r\n`);
      f.messages.splice(f.messages.indexOf(m), 1);
    }
    socket.write(`${c.tag} OK moved\r\n`);
    return true;
  };
  const extra = '\n    afterDelivery: { moveTo: Archive }';
  const file = `${tmp.path}/state-${run}`;
  const first = await fetchFrom(f, extra);
  assert.equal(first.delivered, 1);
  assert.equal(first.removed, 0);
  assert.ok(first.error, 'the refused move is reported');
  assert.deepEqual(left(f), [1]);
  full = false;
  run--; // same state: the record says delivered
  const second = await fetchFrom(f, extra);
  assert.equal(second.delivered, 0, `delivered again (${file})`);
  assert.equal(second.removed, 1);
  assert.equal(receiver.received.length, 1);
  assert.deepEqual(left(f), []);
});

test('without UIDPLUS: delivered mail stays flagged while someone else has a message flagged \\Deleted, then a plain EXPUNGE', async () => {
  const f = await withFake([mail(1), mail(2)]);
  f.caps = 'IMAP4rev1 MOVE';
  let foreign = true;
  f.hook = (c, socket) => {
    if (c.name !== 'UID SEARCH' || !foreign) return false;
    // Another client flagged message 99 \Deleted: a plain EXPUNGE would remove it too.
    const ours = f.messages.filter((m) => m.flags.has('\\Deleted')).map((m) => m.uid);
    socket.write(`* SEARCH ${[...ours, 99].join(' ')}\r\n${c.tag} OK done\r\n`);
    return true;
  };
  const first = await fetchFrom(f);
  assert.equal(first.delivered, 2);
  assert.equal(first.removed, 0);
  assert.equal(first.error, undefined, 'not an error: said in the log, tried again next pass');
  assert.match(
    first.log,
    /flagged \\\\Deleted but not expunged: the server has no UIDPLUS and 1 other messages/,
  );
  assert.ok(!f.commands.includes('EXPUNGE'), 'no plain EXPUNGE while others are flagged');
  assert.deepEqual(left(f), [1, 2]);
  foreign = false;
  run--; // same state
  const second = await fetchFrom(f);
  assert.equal(second.delivered, 0);
  assert.equal(second.removed, 2);
  assert.ok(f.commands.includes('EXPUNGE'));
  assert.deepEqual(left(f), []);
  assert.equal(receiver.received.length, 2);
});

test('without MOVE, moveTo copies and then deletes with UID EXPUNGE', async () => {
  const f = await withFake([mail(1), mail(2)]);
  f.caps = 'IMAP4rev1 UIDPLUS';
  const s = await fetchFrom(f, '\n    afterDelivery: { moveTo: Archive }');
  assert.equal(s.removed, 2, JSON.stringify(s.error));
  assert.deepEqual(f.copied.get('Archive'), [1, 2], JSON.stringify([...f.copied]));
  assert.ok(f.commands.includes('UID EXPUNGE'));
  assert.deepEqual(left(f), []);
});

test('tls: starttls against a server without STARTTLS: TLS_REQUIRED, the password never sent', async () => {
  const f = await withFake([mail(1)]);
  const s = await fetchFrom(f, '', 'starttls');
  assert.equal(s.error?.code, 'TLS_REQUIRED', JSON.stringify(s.error));
  assert.ok(!f.commands.includes('LOGIN') && !f.commands.includes('AUTHENTICATE'), f.commands.join(' '));
  assert.equal(receiver.received.length, 0);
});

test('POSTBOTE_LOG_LEVEL=debug shows the IMAP commands, never the password', async () => {
  const f = await withFake([mail(1)]);
  const file = await writeConfig(
    tmp.path,
    `
state: ${tmp.path}/state-${run++}
target: { host: 127.0.0.1, port: ${receiver.port}, tls: none, helo: postbote.test }
mailboxes:
  - name: logged
    protocol: imap
    host: 127.0.0.1
    port: ${f.port}
    tls: none
    user: u
    password: hunter2-secret
    deliverTo: [h@corp.local]
`,
  );
  const r = await runCli(['fetch', '-c', file], { POSTBOTE_LOG_LEVEL: 'debug' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /LOGIN/);
  assert.match(r.stderr, /UID FETCH/);
  assert.ok(!r.stderr.includes('hunter2-secret'), 'password in the log');
});
