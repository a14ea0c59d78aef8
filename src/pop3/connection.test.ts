// Pop3Connection's end of a session: after QUIT the socket goes, and the error a later command would
// get is made only when one comes (a normal poll builds no error object).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { PostboteError } from '../errors.js';
import { silentLogger } from '../log.js';
import { Pop3Connection } from './connection.js';

async function connected(): Promise<{ conn: Pop3Connection; server: Socket; done(): Promise<void> }> {
  const listener = createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const address = listener.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const accepted = once(listener, 'connection');
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const [server] = (await accepted) as [Socket];
  server.on('error', () => {});
  server.resume(); // its 'end' and 'close' come only once what the client wrote is read
  const conn = new Pop3Connection(socket, {
    where: 'pop3 test',
    logger: silentLogger(),
    maxLineLength: 8192,
    idleTimeout: 5_000,
    minRate: 10_000,
  });
  return { conn, server, done: () => new Promise((r) => listener.close(() => r())) };
}

const closedError = () =>
  new PostboteError('CONNECTION_CLOSED', 'session closed', { temporary: true, where: 'pop3 test' });

test('end() after the last reply builds no error until a later command asks for one', async () => {
  const { conn, server, done } = await connected();
  server.write('+OK bye\r\n');
  assert.equal((await conn.command({ line: 'QUIT', timeout: 5_000 })).status, '+OK');
  let made = 0;
  conn.end(() => {
    made++;
    return closedError();
  });
  assert.equal(conn.closed, true);
  await once(server, 'close');
  assert.equal(made, 0, 'the socket closing builds no error');
  await assert.rejects(conn.command({ line: 'NOOP', timeout: 5_000 }), { code: 'CONNECTION_CLOSED' });
  assert.equal(made, 1);
  await done();
});

test('end() with a command still unanswered fails that command at once', async () => {
  const { conn, server, done } = await connected();
  const pending = conn.command({ line: 'NOOP', timeout: 5_000 });
  conn.end(closedError);
  await assert.rejects(pending, { code: 'CONNECTION_CLOSED', message: 'session closed' });
  server.destroy();
  await done();
});
