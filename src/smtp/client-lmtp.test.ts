// LMTP (RFC 2033) against smtp-server in LMTP mode: LHLO and one data reply per accepted recipient.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { connectSmtp } from './client.js';
import { record, smtpError, startSmtpServer, type TestServer } from './test-support.test.js';

describe('LMTP', () => {
  let server: TestServer;
  before(async () => {
    const received: ReturnType<typeof record>[] = [];
    server = await startSmtpServer({
      lmtp: true,
      onRcptTo(address, _session, cb) {
        cb(address.address.startsWith('nobody') ? smtpError(550, 'No such user') : null);
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          received.push(record(session, Buffer.concat(chunks)));
          // One answer per accepted recipient, in RCPT order: mailbox full for "full…", else delivered.
          cb(
            null,
            session.envelope.rcptTo.map((r) =>
              r.address.startsWith('full') ? smtpError(552, 'Mailbox full') : `delivered to ${r.address}`,
            ) as unknown as string,
          );
        });
      },
    });
    server.received = received;
  });
  after(() => server.close());

  test('reports a distinct data reply for each accepted recipient, in envelope order', async () => {
    const conn = await connectSmtp({
      host: '127.0.0.1',
      port: server.port,
      tls: 'none',
      helo: 'postbote.test',
      lmtp: true,
    });
    const result = await conn.send(
      { from: 'a@x.test', to: ['b@y.test', 'nobody@y.test', 'full@y.test', 'c@y.test'] },
      Readable.from([Buffer.from('Subject: lmtp\r\n\r\n.dot\r\n')]),
    );
    assert.deepEqual(
      result.recipients.map((r) => [r.address, r.stage, r.reply.code, r.reply.text]),
      [
        ['b@y.test', 'DATA', 250, 'delivered to b@y.test'],
        ['nobody@y.test', 'RCPT', 550, 'No such user'],
        ['full@y.test', 'DATA', 552, 'Mailbox full'],
        ['c@y.test', 'DATA', 250, 'delivered to c@y.test'],
      ],
    );
    assert.equal(server.received.at(-1)?.body.toString(), 'Subject: lmtp\r\n\r\n.dot\r\n');
    // The connection is in step: a second transaction works.
    const again = await conn.send(
      { from: 'a@x.test', to: ['d@y.test'] },
      Readable.from([Buffer.from('x\r\n')]),
    );
    assert.equal(again.recipients[0]?.reply.text, 'delivered to d@y.test');
    await conn.quit();
  });
});
