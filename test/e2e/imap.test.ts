// IMAP and IMAPS against a real Dovecot (UIDPLUS, MOVE, special-use folders): bytes exact, the
// after-delivery modes (delete, move, keep with \Seen), folders and wildcards, nothing read sets \Seen.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { seenCertificates } from '../../src/alerts/certificates.js';
import { openImap } from '../../src/imap/index.js';
import { silentLogger } from '../../src/log.js';
import { makeMessage, standardCorpus } from '../support/corpus.js';
import { type Dovecot, startDovecot } from '../support/dovecot.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { type Receiver, startReceiver } from '../support/smtp-receiver.js';
import { runCli, stripOwnReceived, toCrlf, writeConfig } from './helpers.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const small = (seed: number, subject = `imap ${seed}`) =>
  makeMessage({ size: 1500 + seed * 7, seed, subject });

describe('IMAP source against Dovecot', () => {
  let dovecot: Dovecot;
  let receiver: Receiver;
  let tmp: TempDir;
  const users = ['stls', 'imaps', 'folders', 'keep', 'route'];

  before(async () => {
    dovecot = await startDovecot({ users, name: 'imap' });
    receiver = await startReceiver();
    tmp = await makeTempDir('postbote-imap-');
  });
  after(async () => {
    await dovecot?.stop();
    await receiver?.stop();
    await tmp?.remove();
  });

  const mailbox = (user: string, extra = '', tls: 'starttls' | 'tls' = 'tls') => `
  - name: ${user}
    protocol: imap
    host: localhost
    port: ${tls === 'tls' ? dovecot.ports.imaps : dovecot.ports.imap}
    tls: ${tls}
    ca: ${dovecot.caFile}
    user: ${user}
    password: ${dovecot.password(user)}
    deliverTo: [${user}@corp.local]${extra}`;
  const config = (name: string, mailboxes: string) =>
    writeConfig(
      tmp.path,
      `
state: ${tmp.path}/state-${name}
target: { host: 127.0.0.1, port: ${receiver.port}, tls: none, helo: postbote.test }
mailboxes:${mailboxes}
`,
    );
  const fetch = async (file: string) => {
    const r = await runCli(['fetch', '-c', file, '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    return JSON.parse(r.stdout) as {
      mailboxes: Array<{ fetched: number; delivered: number; removed: number }>;
    };
  };

  test('STARTTLS and IMAPS: every message byte-exact, deleted with UID EXPUNGE, a second pass fetches nothing', async () => {
    const corpus = standardCorpus();
    const half = Math.ceil(corpus.length / 2);
    await dovecot.seed(
      'stls',
      corpus.slice(0, half).map((c) => c.data),
    );
    await dovecot.seed(
      'imaps',
      corpus.slice(half).map((c) => c.data),
    );
    const file = await config('basic', mailbox('stls', '', 'starttls') + mailbox('imaps'));
    const first = await fetch(file);
    assert.deepEqual(
      first.mailboxes.map((m) => m.delivered),
      [half, corpus.length - half],
    );
    for (const [user, part] of [
      ['stls', corpus.slice(0, half)],
      ['imaps', corpus.slice(half)],
    ] as const) {
      const got = receiver.byRecipient(`${user}@corp.local`).map(stripOwnReceived).map(sha).sort();
      assert.deepEqual(got, part.map((c) => sha(toCrlf(c.data))).sort(), `${user}: not byte-exact`);
      assert.equal(dovecot.count(user), 0, `${user}: left on the server`);
    }
    const second = await fetch(file);
    assert.deepEqual(
      second.mailboxes.map((m) => [m.fetched, m.delivered]),
      [
        [0, 0],
        [0, 0],
      ],
    );
  });

  test('IMAPS and STARTTLS sessions report the server certificate to the expiry alert', async () => {
    for (const [tls, port] of [
      ['tls', dovecot.ports.imaps],
      ['starttls', dovecot.ports.imap],
    ] as const) {
      const session = await openImap({
        host: 'localhost',
        port,
        tls,
        tlsVerify: true,
        ca: dovecot.caPem,
        user: 'imaps',
        password: dovecot.password('imaps'),
        auth: 'auto',
        folders: ['INBOX'],
        exclude: [],
        afterDelivery: 'delete',
        timeouts: {},
        logger: silentLogger(),
      });
      await session.close();
      const seen = seenCertificates().find((c) => c.server === `localhost:${port}`);
      assert.ok(seen, `${tls}: no certificate seen for localhost:${port}`);
      assert.ok(seen.validTo > Date.now(), `${tls}: expiry ${new Date(seen.validTo).toISOString()}`);
    }
  });

  test('folders "*" skip Sent/Trash/Junk/Drafts by special use; delivered mail is moved to Archive', async () => {
    await dovecot.seed('folders', [small(1), small(2)]);
    await dovecot.seedFolder('folders', 'Lists', [small(3)]);
    await dovecot.seedFolder('folders', 'Sent', [small(4)]);
    await dovecot.seedFolder('folders', 'Trash', [small(5)]);
    await dovecot.seedFolder('folders', 'Junk', [small(6)]);
    await dovecot.seedFolder('folders', 'Archive', [small(7)]);
    const file = await config(
      'folders',
      mailbox('folders', '\n    folders: ["*"]\n    afterDelivery: { moveTo: Archive }'),
    );
    const first = await fetch(file);
    assert.equal(first.mailboxes[0]?.delivered, 3);
    const subjects = receiver
      .byRecipient('folders@corp.local')
      .map((m) => /Subject: (.*)\r\n/.exec(m.toString())?.[1])
      .sort();
    assert.deepEqual(subjects, ['imap 1', 'imap 2', 'imap 3']);
    const count = async (name: string) =>
      dovecot.flags('folders', name).filter((f) => !f.includes('T')).length;
    assert.equal(await count('INBOX'), 0);
    assert.equal(await count('Lists'), 0);
    assert.equal(await count('Archive'), 4, 'moved to Archive, next to what was there');
    assert.equal(await count('Sent'), 1);
    assert.equal(await count('Trash'), 1);
    const second = await fetch(file);
    assert.equal(second.mailboxes[0]?.fetched, 0, 'Archive (the move target) is not read again');
  });

  test('keep: delivered mail is marked \\Seen and stays, a second pass fetches nothing', async () => {
    await dovecot.seed('keep', [small(11), small(12)]);
    const file = await config('keep', mailbox('keep', '\n    keep: true'));
    assert.equal((await fetch(file)).mailboxes[0]?.delivered, 2);
    assert.equal(dovecot.count('keep'), 2);
    assert.deepEqual(dovecot.flags('keep', 'INBOX'), ['S', 'S']);
    const second = await fetch(file);
    assert.equal(second.mailboxes[0]?.fetched, 0);
    assert.equal(receiver.byRecipient('keep@corp.local').length, 2);
  });

  test('route peeks at headers without setting \\Seen', async () => {
    await dovecot.seed('route', [small(21), small(22)]);
    const file = await config('route', mailbox('route'));
    const r = await runCli(['route', '-c', file, '--mailbox', 'route', '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /route@corp\.local/);
    assert.deepEqual(dovecot.flags('route', 'INBOX'), ['', '']);
    assert.equal(receiver.byRecipient('route@corp.local').length, 0);
  });

  test('check: logs in over verified STARTTLS; an untrusted certificate and a wrong password get their fix', async () => {
    await dovecot.seed('route', [small(31)]);
    const good = mailbox('route', '', 'starttls');
    const untrusted = good.replace('name: route', 'name: untrusted').replace(/\n {4}ca: .*/, '');
    const wrong = good.replace('name: route', 'name: wrongpass').replace(/password: .*/, 'password: wrong');
    const missing = good.replace('name: route', 'name: missing') + '\n    folders: [INBOX, Nope]';
    const file = await config('check', good + untrusted + wrong + missing);
    const r = await runCli(['check', '-c', file, '--json']);
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout) as {
      results: Array<{ subject: string; ok: boolean; detail: string; hint?: string }>;
    };
    const by = (s: string) => report.results.find((x) => x.subject.startsWith(s))!;
    assert.equal(by('mailbox route').ok, true, by('mailbox route').detail);
    assert.match(by('mailbox route').detail, /logged in \(TLS verified\); \d+ messages/);
    assert.equal(by('mailbox untrusted').ok, false);
    assert.match(by('mailbox untrusted').hint ?? '', /ca:|tlsVerify/);
    assert.equal(by('mailbox wrongpass').ok, false);
    assert.match(by('mailbox wrongpass').detail, /login refused.*AUTHENTICATIONFAILED/);
    assert.equal(by('mailbox missing').ok, false);
    assert.match(by('mailbox missing').detail, /folder Nope: the server lists no such selectable folder/);
    assert.match(by('mailbox missing').hint ?? '', /folders:/);
    assert.ok(
      dovecot.flags('route', 'INBOX').every((f) => f === ''),
      'check set no flag',
    );
  });
});
