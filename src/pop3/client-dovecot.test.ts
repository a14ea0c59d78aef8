// The client against a real Dovecot (POP3, STLS, POP3S): conformance with a server as users run it.
import assert from 'node:assert/strict';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import { type Dovecot, dovecotUnavailable, startDovecot } from '../../test/support/dovecot.js';
import { openPop3 } from './client.js';
import type { Pop3Options } from './options.js';

const skip = dovecotUnavailable();
const MESSAGES = [
  Buffer.from('Subject: one\r\n\r\n.leading dot\r\nbody\r\n'),
  Buffer.from(`Subject: two\r\n\r\n${'y'.repeat(200_000)}\r\n..\r\n`),
];

describe('POP3 client against Dovecot', { skip }, () => {
  let dovecot: Dovecot;
  before(async () => {
    dovecot = await startDovecot({ users: ['info'], name: 'pop3-client' });
  });
  after(() => dovecot?.stop());

  const base = (): Omit<Pop3Options, 'tls' | 'port'> => ({
    host: 'localhost',
    user: 'info',
    password: dovecot.password('info'),
    ca: dovecot.caPem,
  });

  for (const [mode, auth] of [
    ['none', 'auto'],
    ['starttls', 'user'],
    ['tls', 'login'],
  ] as const) {
    test(`fetches byte-exact and deletes on QUIT over ${mode} with ${auth} login`, async () => {
      await dovecot.seed('info', MESSAGES);
      const port = mode === 'tls' ? dovecot.ports.pop3s : dovecot.ports.pop3;
      const s = await openPop3({ ...base(), tls: mode, port, auth });
      assert.equal(s.secure, mode !== 'none');
      const list = (await s.list()).messages;
      assert.equal(list.length, 2);
      const bodies = await Promise.all(list.map((m) => buffer(s.retrieve(m))));
      assert.deepEqual(bodies.map((b) => b.toString()).sort(), MESSAGES.map((b) => b.toString()).sort());
      assert.match((await s.top(list[0]!, 0)).toString(), /^Subject: /);
      await s.delete(list);
      await s.close();
      assert.equal(dovecot.count('info'), 0, dovecot.log());
    });
  }

  test('a wrong password is a permanent POP3_AUTH', async () => {
    await assert.rejects(
      openPop3({ ...base(), tls: 'starttls', port: dovecot.ports.pop3, password: 'nope' }),
      {
        code: 'POP3_AUTH',
        temporary: false,
      },
    );
  });
});
