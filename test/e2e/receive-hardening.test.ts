// The receive connector against hostile and buggy clients: sender-specified routing, IDN recipients,
// connection floods and trickling sessions, and password guessing (raw sockets and swaks).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { SmtpSocket, smtpDialog } from './receive-dialog.js';
import { listen, listenerConfig, newFiles, swaks } from './receive-world.js';

describe('receive connector: recipients', () => {
  let tmp: TempDir;
  let maildir: string;
  let stop: () => Promise<void>;
  let port: number;

  before(async () => {
    tmp = await makeTempDir('postbote-receive-rcpt-');
    maildir = join(tmp.path, 'mail');
    const config = listenerConfig({
      deliver: { maildir },
      acceptedDomains: [{ domain: 'corp.local' }, { domain: 'bücher.example' }],
    });
    ({ port, close: stop } = await listen(config));
  });
  after(async () => {
    await stop?.();
    await tmp?.remove();
  });

  test('sender-specified routing (%, ! and source routes) gets 550 5.7.1 and is never stored', async () => {
    const res = await smtpDialog({ port, localAddress: '127.0.0.2' }, [
      'EHLO client.test',
      'MAIL FROM:<a@example.net>',
      'RCPT TO:<user%other.example@corp.local>',
      'RCPT TO:<other.example!user@corp.local>',
      'RCPT TO:<@relay.example,@b.example:user@corp.local>',
      'RCPT TO:<@relay.example:user@corp.local>',
      'RCPT TO:<user@corp.local>',
      'QUIT',
    ]);
    for (const reply of res.replies.slice(2, 6)) assert.match(reply, /^550 5\.7\.1 .*Relay access denied/);
    assert.match(res.replies[6]!, /^250 /, 'a plain recipient after them is still welcome');

    const bang = await swaks([
      ...['--server', '127.0.0.1', '--port', String(port), '--local-interface', '127.0.0.2'],
      ...['--from', 'a@example.net', '--to', 'other.example!victim@corp.local'],
    ]);
    assert.notEqual(bang.code, 0);
    assert.match(bang.out, /<\*\* +550 5\.7\.1 /);
    assert.deepEqual(newFiles(maildir, 'other.example!victim@corp.local'), []);
  });

  test('an IDN recipient in A-label form or upper-case Unicode lands in the one A-label Maildir', async () => {
    for (const rcpt of ['Bob@xn--bcher-kva.example', 'bob@BÜCHER.example']) {
      const s = await SmtpSocket.open({ port, localAddress: '127.0.0.2' });
      try {
        await s.read();
        await s.command('EHLO client.test');
        await s.command('MAIL FROM:<a@example.net>');
        assert.match(await s.command(`RCPT TO:<${rcpt}>`), /^250 /, rcpt);
        assert.match(await s.command('DATA'), /^354 /);
        s.write(Buffer.from(`Subject: idn\r\n\r\nto ${rcpt}\r\n.\r\n`, 'utf8'));
        assert.match(await s.read(), /^250 2\.0\.0 stored as /);
        await s.command('QUIT');
      } finally {
        s.close();
      }
    }
    assert.equal(newFiles(maildir, 'bob@xn--bcher-kva.example').length, 2);
  });
});
