// Duplicate suppression end to end (scriptable POP3 server → Postbote → smtp-server): a message that
// arrives twice by two relay paths is delivered once, and different messages that share a Message-ID
// (newsletters, shop and ticket systems reuse them) are each delivered.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SqliteStore } from '../../src/store/sqlite.js';
import { left, world } from './fault-world.js';

const CATCH_ALL = `catchAll:
      domains: [example.com]
      rewriteDomain: corp.local
      fallback: postmaster@corp.local
      aliases: { sales@example.com: [carol@corp.local] }`;

const message = (o: { top: string[]; id: string; subject: string; body: string }) =>
  Buffer.from(
    [
      ...o.top,
      'From: Shop <news@shop.example>',
      'To: customers@shop.example',
      `Subject: ${o.subject}`,
      'Date: Sun, 29 Nov 2026 10:00:00 +0100',
      `Message-ID: <${o.id}>`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      o.body,
      '',
    ].join('\r\n'),
  );

const hop = (mx: string, forAddr: string) =>
  `Received: from out.shop.example (out.shop.example [198.51.100.9])\r\n\tby ${mx}.provider.example with ESMTPS id ${mx}\r\n\tfor <${forAddr}>; Sun, 29 Nov 2026 10:00:0${mx.length} +0100`;

describe('duplicate suppression', () => {
  test('different messages with one Message-ID are all delivered; one message by two paths once', async () => {
    const messages = [
      // Two newsletters for bob that reuse one Message-ID.
      message({
        top: ['Delivered-To: bob@example.com', hop('mx1', 'bob@example.com')],
        id: 'nl@shop.example',
        subject: 'Angebote November',
        body: 'Nur heute: Schuhe.',
      }),
      message({
        top: ['Delivered-To: bob@example.com', hop('mx1', 'bob@example.com')],
        id: 'nl@shop.example',
        subject: 'Angebote Dezember',
        body: 'Nur heute: Mäntel.',
      }),
      // One order confirmation for carol, by two paths: direct, and through the sales alias at another MX.
      message({
        top: ['Delivered-To: carol@example.com', hop('mx1', 'carol@example.com')],
        id: 'order-7@shop.example',
        subject: 'Bestellung 7',
        body: 'Danke!',
      }),
      message({
        top: [
          'Delivered-To: sales@example.com',
          'X-Original-To: sales@example.com',
          hop('mx22', 'sales@example.com'),
          'Authentication-Results: mx22.provider.example; spf=pass',
        ],
        id: 'order-7@shop.example',
        subject: 'Bestellung 7',
        body: 'Danke!',
      }),
    ];
    const w = await world(messages, CATCH_ALL);
    const summary = await w.fetch();
    assert.equal(summary.ok, true, summary.error?.describe());

    const got = w.receiver.received.map((m) => ({
      to: m.to,
      subject: /^Subject: (.*)$/m.exec(m.raw.toString())?.[1],
    }));
    assert.deepEqual(
      got.sort((a, b) => (a.subject! < b.subject! ? -1 : 1)),
      [
        { to: ['bob@corp.local'], subject: 'Angebote Dezember' },
        { to: ['bob@corp.local'], subject: 'Angebote November' },
        { to: ['carol@corp.local'], subject: 'Bestellung 7' },
      ],
    );
    assert.equal(left(w), 0, 'every copy is final and removed at the provider');

    const store = new SqliteStore(join(w.tmp.path, 'state', 'postbote.sqlite'));
    try {
      const records = (await store.messagesOf('info')).sort((a, b) => a.id - b.id);
      assert.deepEqual(
        records.map((r) => r.state),
        ['delivered', 'delivered', 'delivered', 'duplicate'],
      );
      const [, , first, copy] = records;
      // The log can say "duplicate of #N": in the reason, and as a field on the recipient.
      assert.match(copy!.reason ?? '', new RegExp(`duplicate of #${first!.id}\\b`));
      assert.deepEqual(
        copy!.recipients.map((r) => ({ address: r.address, status: r.status, of: r.duplicateOf })),
        [{ address: 'carol@corp.local', status: 'duplicate', of: first!.id }],
      );
    } finally {
      await store.close();
    }
  });
});
