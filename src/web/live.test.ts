import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { LiveHub, MAX_BUFFERED_BYTES } from './live.js';

describe('LiveHub: the event stream', () => {
  test('drops a client that stops reading instead of buffering for it without end', async () => {
    const hub = new LiveHub();
    let res: ServerResponse | undefined;
    const server = createServer((_req, r) => {
      res = r;
      hub.attach(r);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const socket = connect(port, '127.0.0.1');
    try {
      socket.write('GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n');
      await once(socket, 'data'); // the stream's head; then the client reads no more
      socket.pause();
      const pad = 'x'.repeat(64 * 1024);
      let peak = 0;
      // 32 MB: far more than the loopback socket's buffers take before the server must hold it
      for (let i = 0; i < 512 && hub.size > 0; i++) {
        hub.publish({ type: 'message', pad });
        peak = Math.max(peak, res?.writableLength ?? 0);
        await new Promise((r) => setImmediate(r));
      }
      assert.equal(hub.size, 0, 'the stuck client was dropped');
      assert.ok(peak <= MAX_BUFFERED_BYTES + pad.length + 100, `${peak} bytes held for one client`);
    } finally {
      socket.destroy();
      hub.close();
      server.close();
    }
  });
});
