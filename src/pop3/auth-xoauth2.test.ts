// AUTH XOAUTH2 against a scripted server: the token in the initial response while the line fits in
// 255 octets (RFC 2449), after the empty challenge otherwise (RFC 5034); a refused token ends cleanly.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { describe, test } from 'node:test';
import type { PostboteError } from '../errors.js';
import { MAX_COMMAND_LINE, xoauth2Response } from './auth.js';
import { openPop3 } from './client.js';

interface Seen {
  lines: string[];
  longest: number;
}

/** A server offering SASL XOAUTH2 that accepts `token` for `user`; records every line the client sent. */
async function xoauthServer(user: string, token: string, seen: Seen): Promise<Server> {
  const expected = Buffer.from(xoauth2Response(user, token)).toString('base64');
  const server = createServer((socket) => {
    socket.write('+OK ready\r\n');
    let buf = '';
    let inAuth = false;
    let refused = false;
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      for (let lf = buf.indexOf('\n'); lf >= 0; lf = buf.indexOf('\n')) {
        const raw = buf.slice(0, lf + 1);
        buf = buf.slice(lf + 1);
        seen.longest = Math.max(seen.longest, raw.length);
        const line = raw.trimEnd();
        seen.lines.push(line);
        const answerToken = (b64: string) => {
          if (b64 === expected) return socket.write('+OK logged in\r\n');
          refused = true;
          socket.write(`+ ${Buffer.from('{"status":"401","schemes":"bearer"}').toString('base64')}\r\n`);
        };
        if (refused) {
          refused = false;
          inAuth = false;
          socket.write('-ERR [AUTH] Authentication failed\r\n');
        } else if (inAuth) {
          inAuth = false;
          answerToken(line);
        } else if (line === 'CAPA') socket.write('+OK\r\nSASL XOAUTH2\r\nUIDL\r\n.\r\n');
        else if (line === 'AUTH XOAUTH2') {
          inAuth = true;
          socket.write('+ \r\n');
        } else if (line.startsWith('AUTH XOAUTH2 ')) answerToken(line.slice(13));
        else if (line === 'QUIT') socket.end('+OK bye\r\n');
        else socket.write('-ERR unknown\r\n');
      }
    });
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

async function login(token: string, sentToken = token) {
  const seen: Seen = { lines: [], longest: 0 };
  const server = await xoauthServer('info@example.com', token, seen);
  const port = (server.address() as { port: number }).port;
  try {
    const session = await openPop3({
      host: '127.0.0.1',
      port,
      tls: 'none',
      user: 'info@example.com',
      password: sentToken,
      auth: 'xoauth2',
    });
    await session.close();
    return seen;
  } finally {
    server.close();
  }
}

describe('POP3 AUTH XOAUTH2', () => {
  test('a short token goes in the initial response', async () => {
    const seen = await login('ya29.short');
    assert.ok(
      seen.lines.some((l) => l.startsWith('AUTH XOAUTH2 ')),
      seen.lines.join('\n'),
    );
  });

  test('a long token (2 KB, as Entra ID issues) goes after the empty challenge, the command line within 255 octets', async () => {
    const token = `eyJ0eXAiOiJKV1Qi.${'x'.repeat(2048)}`;
    const seen = await login(token);
    const at = seen.lines.indexOf('AUTH XOAUTH2');
    assert.ok(
      at >= 0,
      `AUTH XOAUTH2 alone on its line: ${seen.lines.map((l) => l.slice(0, 40)).join(' | ')}`,
    );
    assert.equal(
      seen.lines[at + 1],
      Buffer.from(xoauth2Response('info@example.com', token)).toString('base64'),
    );
    for (const line of seen.lines.filter((l) => l.startsWith('AUTH')))
      assert.ok(line.length + 2 <= MAX_COMMAND_LINE);
  });

  test('a token of exactly the limit is still sent in one line, one more octet is not', async () => {
    // "AUTH XOAUTH2 " (13) + base64 + CRLF (2) = 255 when base64 is 240 chars (180 bytes decoded).
    const pad = (n: number) => 'a'.repeat(n - xoauth2Response('info@example.com', '').length);
    const fits = await login(pad(180));
    assert.ok(fits.lines.some((l) => l.startsWith('AUTH XOAUTH2 ') && l.length === 253));
    const over = await login(pad(183));
    assert.ok(over.lines.includes('AUTH XOAUTH2'));
  });

  test('a refused token answers the error challenge with an empty line and fails as POP3_AUTH', async () => {
    await assert.rejects(login('the-right-token', 'a-revoked-token'), (e: PostboteError) => {
      assert.equal(e.code, 'POP3_AUTH');
      assert.equal(e.command, '(end of XOAUTH2)');
      return true;
    });
  });
});
