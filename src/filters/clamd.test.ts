// The clamd client against fake daemons that reset the connection while the message is being sent:
// what clamd itself does at its StreamMaxLength, where the reset can beat its reply.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { PostboteError } from '../errors.js';
import { clamdScan } from './clamd.js';

describe('clamd: a reset while sending', () => {
  const servers: Server[] = [];
  after(() => {
    for (const s of servers) s.close();
  });

  /** A daemon whose nth connection (1-based) is handled by `handle(n, socket)`. */
  async function daemon(handle: (n: number, socket: Socket) => void): Promise<number> {
    let n = 0;
    const server = createServer((socket) => {
      socket.on('error', () => {});
      handle(++n, socket);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as AddressInfo).port;
  }
  const resetAfterSomeBytes = (socket: Socket) => socket.once('data', () => socket.resetAndDestroy());
  const answerOk = (socket: Socket) => {
    let seen = Buffer.alloc(0);
    socket.on('data', (c: Buffer) => {
      seen = Buffer.concat([seen, c]);
      // The zero-length chunk that ends INSTREAM.
      if (seen.subarray(-4).equals(Buffer.alloc(4))) socket.end('stream: OK\0');
    });
  };
  const body = () => Readable.from([Buffer.alloc(256 * 1024, 0x61), Buffer.alloc(256 * 1024, 0x62)]);

  test('the first connection reset without a reply: asked once more, its verdict taken', async () => {
    const port = await daemon((n, socket) => (n === 1 ? resetAfterSomeBytes(socket) : answerOk(socket)));
    assert.deepEqual(await clamdScan({ port }, body, 5_000), { infected: false });
  });

  test('reset every time: the third failure is the answer (temporary, the message is deferred)', async () => {
    let connections = 0;
    const port = await daemon((_n, socket) => {
      connections++;
      resetAfterSomeBytes(socket);
    });
    const err = await clamdScan({ port }, body, 5_000).then(
      () => assert.fail('no verdict can have come'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof PostboteError);
    assert.equal(err.code, 'FILTER_UNAVAILABLE');
    assert.equal(err.temporary, true);
    assert.equal(connections, 3, 'asked three times, not more');
  });
});
