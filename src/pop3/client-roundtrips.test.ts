// Round trips of a poll: what the client writes, write by write, to a server that records each chunk
// it receives. A pipelining server gets CAPA with the login and CAPA with the listing; one without
// PIPELINING gets a command at a time, and its empty mailbox is listed by STAT alone.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { openPop3 } from './client.js';
import type { Pop3Options } from './options.js';

const servers: Array<{ server: Server; sockets: Set<Socket> }> = [];
afterEach(async () => {
  for (const { server, sockets } of servers.splice(0)) {
    for (const socket of sockets) socket.destroy();
    await new Promise((r) => server.close(r));
  }
});

interface Recorder {
  options: Pop3Options;
  /** Per session, the chunks as received (CRLF shown as |). */
  sessions: string[][];
  /** The capabilities the next sessions announce. */
  capa: string[];
}

/**
 * A POP3 server with an empty mailbox that keeps every chunk it receives. Without PIPELINING in its
 * CAPA it behaves like a server that reads one command per segment: anything after the first line of
 * a chunk gets -ERR.
 */
async function recorder(capa: string[]): Promise<Recorder> {
  const r: Recorder = { options: {} as Pop3Options, sessions: [], capa };
  const sockets = new Set<Socket>();
  const server = createServer((socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const chunks: string[] = [];
    r.sessions.push(chunks);
    socket.on('error', () => {});
    socket.write('+OK hi\r\n');
    let challenges = 0; // SASL LOGIN: the answers still to read after "+ "
    socket.on('data', (d) => {
      const text = d.toString('latin1');
      chunks.push(text.replaceAll('\r\n', '|'));
      const pipelines = r.capa.includes('PIPELINING');
      text
        .split('\r\n')
        .filter(Boolean)
        .forEach((line, i) => {
          if (i > 0 && !pipelines) socket.write('-ERR one command at a time\r\n');
          else if (challenges > 0) socket.write(--challenges > 0 ? '+ \r\n' : '+OK\r\n');
          else if (line === 'AUTH LOGIN') {
            challenges = 2;
            socket.write('+ \r\n');
          } else if (line === 'PASS wrong') socket.write('-ERR [AUTH] wrong password\r\n');
          else if (line === 'CAPA') socket.write(`+OK\r\n${r.capa.map((c) => `${c}\r\n`).join('')}.\r\n`);
          else if (line === 'UIDL' || line === 'LIST') socket.write('+OK\r\n.\r\n');
          else if (line === 'STAT') socket.write('+OK 0 0\r\n');
          else if (line === 'QUIT') socket.end('+OK bye\r\n');
          else socket.write('+OK\r\n');
        });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push({ server, sockets });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  r.options = { host: '127.0.0.1', port, tls: 'none', user: 'u', password: 'p', listOnLogin: true };
  return r;
}

async function poll(o: Pop3Options): Promise<number> {
  const s = await openPop3(o);
  const listed = (await s.list()).messages.length;
  await s.close();
  return listed;
}

describe('round trips of a poll', () => {
  test('a pipelining server gets CAPA, the login, CAPA, UIDL and LIST in one write from the second session on', async () => {
    const r = await recorder(['USER', 'UIDL', 'PIPELINING']);
    assert.equal(await poll(r.options), 0);
    assert.equal(await poll(r.options), 0);
    assert.deepEqual(r.sessions[0], ['CAPA|', 'USER u|PASS p|', 'CAPA|UIDL|LIST|', 'QUIT|']);
    assert.deepEqual(r.sessions[1], ['CAPA|USER u|PASS p|CAPA|UIDL|LIST|', 'QUIT|']);
  });

  test('SASL PLAIN goes with CAPA and the listing in one write to a server known to pipeline', async () => {
    const r = await recorder(['SASL PLAIN', 'UIDL', 'PIPELINING']);
    await poll(r.options);
    await poll(r.options);
    const plain = Buffer.from('\0u\0p').toString('base64');
    assert.deepEqual(r.sessions[1], [`CAPA|AUTH PLAIN ${plain}|CAPA|UIDL|LIST|`, 'QUIT|']);
  });

  test('SASL LOGIN, which awaits challenges, sends the listing only after the login', async () => {
    const r = await recorder(['SASL LOGIN', 'UIDL', 'PIPELINING']);
    await poll(r.options);
    await poll(r.options);
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    assert.deepEqual(r.sessions[1], [
      'CAPA|AUTH LOGIN|',
      `${b64('u')}|`,
      `${b64('p')}|`,
      'CAPA|UIDL|LIST|',
      'QUIT|',
    ]);
  });

  test('a login refused in the shared write is a login error, and the listing sent with it is dropped', async () => {
    const r = await recorder(['USER', 'UIDL', 'PIPELINING']);
    await poll(r.options);
    await assert.rejects(
      poll({ ...r.options, password: 'wrong' }),
      (err: { code: string; temporary: boolean }) => {
        assert.equal(err.code, 'POP3_AUTH');
        assert.equal(err.temporary, false);
        return true;
      },
    );
    assert.deepEqual(r.sessions[1], ['CAPA|USER u|PASS wrong|CAPA|UIDL|LIST|']);
  });

  test('without PIPELINING, one command a write, and an empty mailbox is listed by STAT alone', async () => {
    const r = await recorder(['USER', 'UIDL']);
    assert.equal(await poll(r.options), 0);
    assert.equal(await poll(r.options), 0);
    const steps = ['CAPA|', 'USER u|', 'PASS p|', 'CAPA|', 'STAT|', 'QUIT|'];
    assert.deepEqual(r.sessions, [steps, steps]);
  });

  test('pipelining: false keeps every command in its own write, also towards a server known to pipeline', async () => {
    const r = await recorder(['USER', 'UIDL', 'PIPELINING']);
    await poll(r.options);
    await poll({ ...r.options, pipelining: false });
    assert.deepEqual(r.sessions[1], ['CAPA|', 'USER u|', 'PASS p|', 'CAPA|', 'STAT|', 'QUIT|']);
  });

  test('a server that stopped pipelining fails one login as temporary, then is logged into step by step', async () => {
    const r = await recorder(['USER', 'UIDL', 'PIPELINING']);
    await poll(r.options);
    r.capa = ['USER', 'UIDL'];
    await assert.rejects(poll(r.options), (err: { code: string; temporary: boolean }) => {
      assert.equal(err.temporary, true, 'not taken for a wrong password');
      return true;
    });
    assert.equal(await poll(r.options), 0);
    assert.deepEqual(r.sessions[2], ['CAPA|', 'USER u|', 'PASS p|', 'CAPA|', 'STAT|', 'QUIT|']);
  });
});
