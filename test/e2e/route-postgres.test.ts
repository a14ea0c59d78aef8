// `postbote route` on a postgres:// state: the preview reads the shared store, so a message an instance
// has fetched already shows as such, and a new one with where it would go; nothing is fetched or deleted.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Pop3Server, startPop3Server } from '../../src/pop3/server/index.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { postgresUnavailable } from '../support/postgres.js';
import { type Receiver, startReceiver } from '../support/smtp-receiver.js';
import { sharedCluster } from '../support/store-backends.js';
import { runCli, writeConfig } from './helpers.js';
import { mail } from './web-world.js';

describe('postbote route on a PostgreSQL state', { skip: postgresUnavailable() }, () => {
  let tmp: TempDir;
  let pop3: Pop3Server;
  let receiver: Receiver;
  before(async () => {
    tmp = await makeTempDir('postbote-route-pg-');
    pop3 = await startPop3Server({ users: { 'info@example.com': { password: 'pw', messages: [mail(1)] } } });
    receiver = await startReceiver();
  });
  after(async () => {
    await receiver?.stop();
    await pop3?.close();
    await tmp?.remove();
  });

  test('shows what an instance fetched already from the shared store, and routes the rest', async () => {
    const url = await (await sharedCluster()).createDatabase('route');
    const file = await writeConfig(
      tmp.path,
      `state: ${url}
spool: ${tmp.path}/spool
target: { host: 127.0.0.1, port: ${receiver.port}, tls: none, helo: postbote.test }
mailboxes:
  - { name: info, host: 127.0.0.1, port: ${pop3.port}, tls: none, user: info@example.com, password: pw, deliverTo: [info@corp.local], keep: true }
`,
    );
    const fetched = await runCli(['fetch', '-c', file]);
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.equal(receiver.received.length, 1);
    pop3.maildrop('info@example.com').add(mail(2));

    const r = await runCli(['route', '-c', file, '--mailbox', 'info', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      messages: Array<{
        subject: string;
        known?: string;
        outcome?: { recipients: Array<{ address: string }> };
      }>;
    };
    const bySubject = new Map(out.messages.map((m) => [m.subject, m]));
    assert.equal(bySubject.get('message 1')?.known, 'delivered', 'read from the PostgreSQL store');
    assert.deepEqual(
      bySubject.get('message 2')?.outcome?.recipients.map((x) => x.address),
      ['info@corp.local'],
    );
    assert.equal(receiver.received.length, 1, 'route delivered nothing');
    assert.equal(pop3.mailbox('info@example.com').length, 2, 'and deleted nothing');
  });
});
