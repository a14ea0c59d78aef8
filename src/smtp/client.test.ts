// The client against smtp-server in-process, in clear: transactions, pipelining, replies, bodies, AUTH.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { isPostboteError } from '../errors.js';
import { connectSmtp } from './client.js';
import { type Received, smtpError, startSmtpServer, type TestServer } from './test-support.test.js';
import type { SmtpClientOptions } from './types.js';

const body = (text: string | Buffer) => Readable.from([Buffer.isBuffer(text) ? text : Buffer.from(text)]);

function opts(server: TestServer, extra: Partial<SmtpClientOptions> = {}): SmtpClientOptions {
  return { host: '127.0.0.1', port: server.port, tls: 'none', helo: 'postbote.test', ...extra };
}

for (const pipelining of [true, false]) {
  describe(`SMTP transactions with pipelining ${pipelining ? 'on' : 'off'}`, () => {
    let server: TestServer;
    const commands: string[] = [];
    before(async () => {
      server = await startSmtpServer({
        hidePIPELINING: !pipelining,
        size: 10_000_000,
        onMailFrom(address, _session, cb) {
          commands.push(`MAIL ${address.address}`);
          cb(address.address === 'refused@x.test' ? smtpError(550, 'Sender refused') : null);
        },
        onRcptTo(address, _session, cb) {
          commands.push(`RCPT ${address.address}`);
          cb(address.address.startsWith('nobody') ? smtpError(550, 'No such user') : null);
        },
      });
    });
    after(() => server.close());

    test('advertises what the server offers', async () => {
      const conn = await connectSmtp(opts(server));
      assert.equal(conn.extensions.has('PIPELINING'), pipelining);
      assert.equal(conn.extensions.get('SIZE'), '10000000');
      assert.equal(conn.secure, false);
      await conn.quit();
      assert.equal(conn.closed, true);
    });

    test('delivers to every recipient and reports one DATA reply each', async () => {
      const conn = await connectSmtp(opts(server));
      const before = server.received.length;
      const result = await conn.send(
        { from: 'a@x.test', to: ['b@y.test', 'c@y.test'] },
        body('Subject: hi\r\n\r\nhello\r\n'),
      );
      assert.deepEqual(
        result.recipients.map((r) => [r.address, r.stage, r.reply.code]),
        [
          ['b@y.test', 'DATA', 250],
          ['c@y.test', 'DATA', 250],
        ],
      );
      const got = server.received[before] as Received;
      assert.deepEqual([got.from, got.to], ['a@x.test', ['b@y.test', 'c@y.test']]);
      assert.equal(got.body.toString(), 'Subject: hi\r\n\r\nhello\r\n');
      await conn.quit();
    });

    test('reports a refused recipient with its RCPT reply and delivers to the other', async () => {
      const conn = await connectSmtp(opts(server));
      const before = server.received.length;
      const result = await conn.send({ from: 'a@x.test', to: ['nobody@y.test', 'c@y.test'] }, body('x\r\n'));
      const [refused, ok] = result.recipients;
      assert.equal(refused?.stage, 'RCPT');
      assert.deepEqual(refused?.reply, { code: 550, enhanced: '5.1.1', text: 'No such user' });
      assert.equal(ok?.stage, 'DATA');
      assert.equal(ok?.reply.code, 250);
      assert.deepEqual(server.received[before]?.to, ['c@y.test']);
      await conn.quit();
    });

    test('sends no data when every recipient is refused, and stays usable', async () => {
      const conn = await connectSmtp(opts(server));
      const before = server.received.length;
      const result = await conn.send(
        { from: 'a@x.test', to: ['nobody1@y.test', 'nobody2@y.test'] },
        body('x\r\n'),
      );
      assert.deepEqual(
        result.recipients.map((r) => [r.stage, r.reply.code]),
        [
          ['RCPT', 550],
          ['RCPT', 550],
        ],
      );
      assert.equal(server.received.length, before);
      const next = await conn.send({ from: 'a@x.test', to: ['c@y.test'] }, body('y\r\n'));
      assert.equal(next.recipients[0]?.reply.code, 250);
      await conn.quit();
    });

    test('gives every recipient the MAIL reply when the sender is refused, and stays usable', async () => {
      const conn = await connectSmtp(opts(server));
      commands.length = 0;
      const result = await conn.send({ from: 'refused@x.test', to: ['b@y.test', 'c@y.test'] }, body('x\r\n'));
      for (const r of result.recipients) {
        assert.equal(r.stage, 'MAIL');
        assert.equal(r.reply.code, 550);
        assert.equal(r.reply.text, 'Sender refused');
      }
      if (!pipelining) assert.deepEqual(commands, ['MAIL refused@x.test'], 'no RCPT after a refused MAIL');
      const next = await conn.send({ from: 'a@x.test', to: ['c@y.test'] }, body('y\r\n'));
      assert.equal(next.recipients[0]?.reply.code, 250);
      await conn.quit();
    });

    test('probes sender and recipients without sending data', async () => {
      const conn = await connectSmtp(opts(server));
      const before = server.received.length;
      const result = await conn.probe({ from: 'a@x.test', to: ['b@y.test', 'nobody@y.test'] });
      assert.deepEqual(
        result.recipients.map((r) => [r.stage, r.reply.code]),
        [
          ['RCPT', 250],
          ['RCPT', 550],
        ],
      );
      assert.equal(server.received.length, before);
      assert.equal((await conn.reset()).code, 250);
      await conn.quit();
    });
  });
}

describe('SMTP message bodies and parameters', () => {
  let server: TestServer;
  before(async () => {
    server = await startSmtpServer({ size: 50_000_000 });
  });
  after(() => server.close());

  test('arrives byte-exact: leading dots kept, bare LF made CRLF, 8-bit bytes intact', async () => {
    const conn = await connectSmtp(opts(server));
    const input = Buffer.from(
      'Subject: dots\n\n.leading\r\n..two\r\n.\r\nbare LF\nbare CR\rGr\xfc\xdfe \xff\r\nlast',
      'latin1',
    );
    const expected =
      'Subject: dots\r\n\r\n.leading\r\n..two\r\n.\r\nbare LF\r\nbare CR\r\nGr\xfc\xdfe \xff\r\nlast\r\n';
    await conn.send({ from: 'a@x.test', to: ['b@y.test'], eightBit: true, size: input.length }, body(input));
    const got = server.received.at(-1) as Received;
    assert.equal(got.body.toString('latin1'), expected);
    assert.equal(got.params.BODY, '8BITMIME');
    assert.equal(got.params.SIZE, String(input.length));
    await conn.quit();
  });

  test('streams a 5 MB message in many chunks byte-exact', async () => {
    const conn = await connectSmtp(opts(server));
    const line = '.a line of the body that starts with a dot and is long enough to matter\r\n';
    const chunks: Buffer[] = [];
    let total = 0;
    for (let i = 0; total < 5_000_000; i++) {
      const c = Buffer.from(line.repeat(100 + (i % 7)));
      chunks.push(c);
      total += c.length;
    }
    const result = await conn.send(
      { from: 'a@x.test', to: ['b@y.test'], size: total },
      Readable.from(chunks),
    );
    assert.equal(result.recipients[0]?.reply.code, 250);
    const got = server.received.at(-1) as Received;
    assert.equal(got.body.length, total);
    assert.ok(got.body.equals(Buffer.concat(chunks)));
    await conn.quit();
  });

  test('connects from localAddress, which the server sees as the remote address', async () => {
    const conn = await connectSmtp(opts(server, { localAddress: '127.0.0.2' }));
    await conn.send({ from: 'a@x.test', to: ['b@y.test'] }, body('x\r\n'));
    assert.equal(server.received.at(-1)?.remoteAddress, '127.0.0.2');
    await conn.quit();
  });

  test('refuses addresses that would inject commands, before sending anything', async () => {
    const conn = await connectSmtp(opts(server));
    await assert.rejects(
      conn.send({ from: 'a@x.test', to: ['b@y.test>\r\nRCPT TO:<evil@z.test'] }, body('x\r\n')),
      (err) => isPostboteError(err) && err.code === 'SMTP_RECIPIENT' && !err.temporary,
    );
    assert.equal(conn.closed, false);
    await conn.quit();
  });
});

describe('SMTP final replies', () => {
  let server: TestServer;
  before(async () => {
    server = await startSmtpServer({
      onData(stream, _session, cb) {
        stream.resume();
        stream.on('end', () => cb(smtpError(451, 'Try again later')));
      },
    });
  });
  after(() => server.close());

  test('reports a 451 to the data for every accepted recipient, and stays usable', async () => {
    const conn = await connectSmtp(opts(server));
    const result = await conn.send({ from: 'a@x.test', to: ['b@y.test', 'c@y.test'] }, body('x\r\n'));
    for (const r of result.recipients) {
      assert.equal(r.stage, 'DATA');
      assert.deepEqual(r.reply, { code: 451, enhanced: '4.3.0', text: 'Try again later' });
    }
    assert.equal(conn.closed, false);
    assert.equal((await conn.reset()).code, 250);
    await conn.quit();
  });
});
