// The receive connector handing accepted mail on to a further SMTP hop: 250 only once the hop
// accepted, its 4xx folded into 451, and STARTTLS towards the hop verified (never clear text instead).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import nodemailer, { type TransportOptions } from 'nodemailer';
import type { ReceiveConfig } from '../../src/config/index.js';
import { makeCertificate } from '../support/dovecot-config.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { type Receiver, startReceiver } from '../support/smtp-receiver.js';
import { listen, listenerConfig, MESSAGE } from './receive-world.js';

describe('receive connector handing on to a further SMTP hop', () => {
  let next: Receiver;
  let stop: () => Promise<void>;
  let port: number;

  before(async () => {
    next = await startReceiver({
      onRcpt: (address) =>
        address.startsWith('full@') ? { code: 452, message: '4.2.2 mailbox full' } : undefined,
    });
    ({ port, close: stop } = await listen(listenerConfig({ deliver: { smtp: `127.0.0.1:${next.port}` } })));
  });
  after(async () => {
    await stop?.();
    await next?.stop();
  });

  test('250 only after the next hop accepted; its 4xx comes back as 451', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port,
      ignoreTLS: true,
      localAddress: '127.0.0.2',
    } as TransportOptions);
    const info = await transport.sendMail({
      envelope: { from: 's@example.net', to: ['judy@corp.local'] },
      raw: MESSAGE,
    });
    assert.match(info.response, /^250 2\.0\.0 delivered by smtp /);
    assert.equal(next.received.length, 1);
    assert.ok(next.received[0]!.raw.toString('latin1').endsWith(MESSAGE));
    await assert.rejects(
      transport.sendMail({ envelope: { from: 's@example.net', to: ['full@corp.local'] }, raw: MESSAGE }),
      (err: { responseCode?: number; response?: string }) =>
        err.responseCode === 451 && /<full@corp\.local>/.test(err.response ?? ''),
    );
    assert.equal(next.received.length, 1);
    transport.close();
  });
});

describe('receive connector handing on over STARTTLS', () => {
  let tmp: TempDir;
  let cert: string;
  let next: Receiver;

  before(async () => {
    tmp = await makeTempDir('postbote-next-hop-tls-');
    await makeCertificate(join(tmp.path, 'cert.pem'), join(tmp.path, 'key.pem'));
    cert = readFileSync(join(tmp.path, 'cert.pem'), 'utf8');
    next = await startReceiver({ tls: { cert, key: readFileSync(join(tmp.path, 'key.pem')) } });
  });
  after(async () => {
    await next?.stop();
    await tmp?.remove();
  });

  async function send(deliver: ReceiveConfig['deliver']): Promise<{ code: number; response: string }> {
    const listener = await listen(listenerConfig({ deliver }));
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: listener.port,
      ignoreTLS: true,
      localAddress: '127.0.0.2',
    } as TransportOptions);
    try {
      const info = await transport.sendMail({
        envelope: { from: 's@example.net', to: ['judy@corp.local'] },
        raw: MESSAGE,
      });
      return { code: 250, response: info.response };
    } catch (err) {
      const e = err as { responseCode?: number; response?: string };
      return { code: e.responseCode ?? 0, response: e.response ?? String(err) };
    } finally {
      transport.close();
      await listener.close();
    }
  }

  test('with the next hop’s CA the message goes on encrypted; an unverifiable certificate is a 451', async () => {
    const hop = `127.0.0.1:${next.port}`;
    const ok = await send({ smtp: hop, tls: 'starttls', caPem: cert });
    assert.equal(ok.code, 250, ok.response);
    assert.equal(next.received.length, 1);
    assert.equal(next.received[0]!.secure, true, 'the hop saw STARTTLS');

    const untrusted = await send({ smtp: hop, tls: 'starttls' });
    assert.equal(untrusted.code, 451, untrusted.response);
    assert.match(untrusted.response, /4\.4\.1 next hop smtp 127\.0\.0\.1:\d+ unavailable/);
    assert.equal(next.received.length, 1, 'nothing sent in clear instead');
  });
});
