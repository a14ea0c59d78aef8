// scanAll against scriptable fake daemons: the per-scanner concurrency cap, onError per scanner, and
// replies no real daemon gives on demand (a close before the verdict, garbage).
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, test } from 'node:test';
import type { FiltersConfig } from '../config/types.js';
import { filterSet, scanAll } from './scan.js';

const servers: net.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A fake clamd: reads the INSTREAM until its end marker, waits `delayMs`, answers `reply` (or just closes). */
async function fakeClamd(reply: string, delayMs = 0) {
  const stats = { open: 0, maxOpen: 0, connections: 0 };
  const server = net.createServer((s) => {
    stats.connections++;
    stats.open++;
    stats.maxOpen = Math.max(stats.maxOpen, stats.open);
    s.on('error', () => {});
    let got = Buffer.alloc(0);
    s.on('data', (c: Buffer) => {
      got = Buffer.concat([got, c]);
      if (got.subarray(-4).equals(Buffer.alloc(4)))
        setTimeout(() => {
          // Counted as done when the verdict leaves: the client's close reaches us only later.
          stats.open--;
          s.end(reply);
        }, delayMs);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, stats };
}

const config = (scanners: FiltersConfig['scanners'], concurrency = 2): FiltersConfig => ({
  scanners,
  maxScanSize: 1_000_000,
  timeout: 5_000,
  concurrency,
  spam: { action: 'tag' },
  virus: { action: 'notify' },
});
const input = {
  open: () => Readable.from([Buffer.from('Subject: x\r\n\r\nhello\r\n')]),
  size: 21,
  envelope: { from: 'a@x', rcpt: ['b@y'] },
};

describe('scanAll', () => {
  test('no more than `concurrency` messages are at one scanner at once', async () => {
    const clamd = await fakeClamd('stream: OK\0', 100);
    const set = filterSet(
      config([{ type: 'clamd', host: '127.0.0.1', port: clamd.port, onError: 'defer' }], 2),
    );
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => scanAll(set, input)));
    assert.ok(outcomes.every((o) => o.kind === 'scanned' && o.results[0]?.status === 'clean'));
    assert.equal(clamd.stats.connections, 6);
    assert.equal(clamd.stats.maxOpen, 2);
  });

  test('onError is per scanner: one marks unscanned, the other defers and is named', async () => {
    const dead = await fakeClamd('');
    const garbage = await fakeClamd('PONG\0');
    const set = filterSet(
      config([
        { type: 'clamd', host: '127.0.0.1', port: dead.port, onError: 'deliver' },
        { type: 'clamd', host: '127.0.0.1', port: garbage.port, onError: 'defer' },
      ]),
    );
    const outcome = await scanAll(set, input);
    assert.equal(outcome.kind, 'unavailable');
    assert.match(
      outcome.results[0]?.status === 'skipped' ? outcome.results[0].reason : '',
      /connection closed without a reply/,
    );
    if (outcome.kind === 'unavailable') {
      assert.equal(outcome.error.code, 'FILTER_UNAVAILABLE');
      assert.equal(outcome.error.where, `clamd 127.0.0.1:${garbage.port}`);
      assert.match(outcome.error.message, /unexpected clamd reply: PONG/);
      assert.match(outcome.error.hint ?? '', /onError: deliver/);
    }
  });

  test('each client gives up on a daemon that takes the message and never answers', async () => {
    // Half-open allowed: spamd's client ends its request and must still get no reply and no close.
    const sockets: net.Socket[] = [];
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      sockets.push(s);
      s.on('error', () => {});
      s.resume();
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    for (const type of ['rspamd', 'spamd', 'clamd'] as const) {
      const set = filterSet({
        ...config([{ type, host: '127.0.0.1', port, onError: 'defer' }]),
        timeout: 300,
      });
      const started = Date.now();
      const outcome = await scanAll(set, input);
      assert.equal(outcome.kind, 'unavailable', type);
      if (outcome.kind === 'unavailable')
        assert.match(outcome.error.message, /no verdict within 300 ms/, type);
      assert.ok(Date.now() - started < 3_000, type);
    }
    for (const s of sockets) s.destroy(); // else close() in afterEach waits for them
  });

  test('rspamd gets the message as the body and the envelope, client IP and HELO as headers', async () => {
    let seen: { headers: IncomingHttpHeaders; body: string; url?: string } | undefined;
    const http = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen = { headers: req.headers, body: Buffer.concat(chunks).toString(), url: req.url };
        res.end(
          JSON.stringify({ action: 'no action', score: 1.5, required_score: 15, symbols: { R_SPF_NA: {} } }),
        );
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    try {
      const port = (http.address() as net.AddressInfo).port;
      const set = filterSet(config([{ type: 'rspamd', host: '127.0.0.1', port, onError: 'defer' }]));
      const outcome = await scanAll(set, {
        ...input,
        envelope: {
          from: 'a@x',
          rcpt: ['b@y', 'c@y'],
          ip: '203.0.113.5',
          helo: 'mail.x',
          queueId: 'k1',
          user: 'info',
        },
      });
      assert.deepEqual(outcome, {
        kind: 'scanned',
        results: [
          {
            scanner: 'rspamd',
            type: 'rspamd',
            status: 'clean',
            score: 1.5,
            required: 15,
            symbols: ['R_SPF_NA'],
            action: 'no action',
          },
        ],
      });
      assert.equal(seen?.url, '/checkv2');
      assert.equal(seen?.body, 'Subject: x\r\n\r\nhello\r\n');
      const h = seen?.headers ?? {};
      assert.deepEqual(
        [h.from, h.rcpt, h.ip, h.helo, h['queue-id'], h.user, h['content-length']],
        ['a@x', 'b@y, c@y', '203.0.113.5', 'mail.x', 'k1', 'info', '21'],
      );
    } finally {
      await new Promise((r) => http.close(r));
    }
  });

  test('a message over maxScanSize reaches no scanner', async () => {
    const clamd = await fakeClamd('stream: OK\0');
    const set = filterSet({
      ...config([{ type: 'clamd', host: '127.0.0.1', port: clamd.port, onError: 'defer' }]),
      maxScanSize: 20,
    });
    const outcome = await scanAll(set, input);
    assert.deepEqual(outcome, {
      kind: 'scanned',
      results: [
        {
          scanner: 'clamd',
          type: 'clamd',
          status: 'skipped',
          reason: 'too large (21 bytes, maxScanSize 20)',
        },
      ],
    });
    assert.equal(clamd.stats.connections, 0);
  });
});
