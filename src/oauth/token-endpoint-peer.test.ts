import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { PostboteError } from '../errors.js';
import { MAX_REPLY_BYTES, postForm } from './token-endpoint.js';

// Hostile or broken token endpoints: every wait ends, every reply is bounded, and what the caller
// gets is always the typed, temporary OAUTH_FAILED (the next poll tries again), never a raw error.
describe('token endpoint that misbehaves', () => {
  const open: Server[] = [];
  const timers: NodeJS.Timeout[] = [];
  after(() => {
    for (const t of timers) clearInterval(t);
    for (const s of open) s.closeAllConnections();
    for (const s of open) s.close();
  });

  async function endpoint(handle: (res: ServerResponse) => void): Promise<string> {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => handle(res));
    });
    open.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  }

  async function failure(url: string, timeoutMs: number): Promise<{ err: PostboteError; ms: number }> {
    const since = Date.now();
    const err = await postForm(url, { grant_type: 'refresh_token' }, timeoutMs).then(
      () => assert.fail('the endpoint cannot have answered'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof PostboteError, `a typed error, got ${String(err)}`);
    assert.equal(err.code, 'OAUTH_FAILED');
    assert.equal(err.temporary, true);
    return { err, ms: Date.now() - since };
  }

  test('never answers: fails at the deadline', async () => {
    const url = await endpoint(() => undefined);
    const { ms } = await failure(url, 400);
    assert.ok(ms >= 350 && ms < 3_000, `${ms} ms`);
  });

  test('sends headers, then one byte a while: the deadline covers the body too', async () => {
    const url = await endpoint((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{');
      timers.push(setInterval(() => res.write(' '), 50));
    });
    const { err, ms } = await failure(url, 500);
    assert.ok(ms < 3_000, `${ms} ms`);
    assert.match(err.message, /token endpoint/);
  });

  test('an endless body: stops reading past the bound', async () => {
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    const url = await endpoint((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const pump = () => {
        while (res.write(chunk)) {}
        res.once('drain', pump);
      };
      pump();
    });
    const { err, ms } = await failure(url, 10_000);
    assert.match(err.message, new RegExp(`larger than ${MAX_REPLY_BYTES}`));
    assert.ok(ms < 3_000, `${ms} ms`);
  });

  test('drops the connection mid-reply', async () => {
    const url = await endpoint((res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"access_token":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    await failure(url, 5_000);
  });
});
