// The filter step in whole passes: `postbote fetch` from a private Dovecot through a private clamd to
// the receiver. A virus is quarantined and left nowhere but the quarantine; while clamd is down the pass
// fails naming it and mail waits; once clamd is back the next pass delivers; `postbote route` shows
// each fetched message's verdict.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Dovecot, dovecotUnavailable, startDovecot } from '../support/dovecot.js';
import { freePort, makeTempDir, type TempDir } from '../support/ports.js';
import { EICAR, scannersUnavailable, startClamd } from '../support/scanners.js';
import { type Receiver, startReceiver } from '../support/smtp-receiver.js';
import { runCli, writeConfig } from './helpers.js';

const mail = (id: string, body: string) =>
  Buffer.from(
    `From: s@provider.test\r\nTo: info@corp.test\r\nSubject: ${id}\r\nMessage-ID: <${id}@provider.test>\r\n` +
      `X-Virus-Status: Clean\r\n\r\n${body}\r\n`,
  );

describe('filters in a pass', { skip: dovecotUnavailable() ?? scannersUnavailable() }, () => {
  let dovecot: Dovecot;
  let receiver: Receiver;
  let tmp: TempDir;
  let config: string;
  let clamdPort: number;

  before(async () => {
    dovecot = await startDovecot({ users: ['info'], name: 'filters-pass' });
    receiver = await startReceiver();
    tmp = await makeTempDir('postbote-filters-pass-');
    clamdPort = await freePort();
    await dovecot.seed('info', [mail('hello', 'Just a note.'), mail('invoice', `Open me.\r\n${EICAR}`)]);
    config = await writeConfig(
      tmp.path,
      `state: ${tmp.path}/state
target: { host: 127.0.0.1, port: ${receiver.port}, tls: none, helo: postbote.test }
delivery: { postmaster: postmaster@corp.test, retry: { initial: 1s, max: 1s } }
filters:
  scanners: [{ type: clamd, host: 127.0.0.1, port: ${clamdPort} }]
  timeout: 5s
mailboxes:
  - name: info
    host: localhost
    port: ${dovecot.ports.pop3}
    tls: starttls
    ca: ${dovecot.caFile}
    user: info
    password: ${dovecot.password('info')}
    deliverTo: [info@corp.test]
    keep: true
`,
    );
  });
  after(async () => {
    await dovecot?.stop();
    await receiver?.stop();
    await tmp?.remove();
  });

  test('clamd down: the pass fails naming it, nothing is delivered; back: the next pass delivers and quarantines', async () => {
    const down = await runCli(['fetch', '-c', config]);
    assert.equal(down.code, 1, down.stdout + down.stderr);
    assert.match(down.stdout + down.stderr, new RegExp(`clamd 127\\.0\\.0\\.1:${clamdPort}: not reachable`));
    assert.equal(receiver.received.length, 0);

    const clamd = await startClamd({ port: clamdPort });
    try {
      const back = await runCli(['fetch', '-c', config]);
      // The virus stays in the quarantine: fetch reports the pass as complete (nothing left waiting).
      assert.equal(back.code, 0, back.stdout + back.stderr);
    } finally {
      await clamd.stop();
    }
    const toInfo = receiver.received.filter((m) => m.to.includes('info@corp.test'));
    assert.equal(toInfo.length, 1, 'only the clean message reached the recipient');
    const text = toInfo[0]!.raw.toString('latin1');
    assert.match(text, /Subject: hello/);
    // Postbote's own X-Virus-Status, the one from outside removed.
    assert.equal(text.match(/^X-Virus-Status: Clean$/gm)?.length, 1);
    const notice = receiver.received.filter((m) => m.to.includes('postmaster@corp.test'));
    assert.equal(notice.length, 1, 'the postmaster is told about the virus');
    assert.match(notice[0]!.raw.toString('utf8'), /virus \(clamd: Eicar-Test-Signature/);

    const route = await runCli(['route', '-c', config, '--mailbox', 'info']);
    assert.equal(route.code, 0, route.stderr);
    assert.match(route.stdout, /already fetched: delivered\n {2}filter: clean \(clamd: clean\): delivered/);
    assert.match(
      route.stdout,
      /already fetched: quarantined\n {2}filter: virus \(clamd: Eicar-Test-Signature\.UNOFFICIAL\): quarantined/,
    );
  });
});
