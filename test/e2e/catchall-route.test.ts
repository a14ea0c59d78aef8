// `postbote route` against a private Dovecot: shows where each message would go and why, from the
// headers alone (TOP n 0), and leaves the mailbox byte for byte as it was (QUIT without DELE).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { catchAllCorpus } from '../fixtures/catchall/corpus.js';
import { type CatchAllWorld, startCatchAllWorld } from '../fixtures/catchall/world.js';
import { type Dovecot, dovecotUnavailable } from '../support/dovecot.js';
import type { Receiver } from '../support/smtp-receiver.js';
import { runCli } from './helpers.js';

interface PreviewJson {
  mailbox: string;
  messages: Array<{
    uid: string;
    outcome: {
      recipients: Array<{ address: string; status: string; reason: string }>;
      quarantine?: string;
      duplicate?: string;
      explanation: string[];
    };
  }>;
}

describe('postbote route on a Dovecot catch-all mailbox', { skip: dovecotUnavailable() }, () => {
  let world: CatchAllWorld;
  let dovecot: Dovecot;
  let receiver: Receiver;
  let config: string;
  const corpus = catchAllCorpus();

  before(async () => {
    world = await startCatchAllWorld('preview', 'starttls', corpus);
    ({ dovecot, receiver, config } = world);
  });
  after(async () => {
    await world?.stop();
  });

  test('explains every message and leaves the mailbox unchanged', async () => {
    const before = dovecot.messages('preview');
    assert.equal(before.length, corpus.length);
    const run = await runCli(['route', '-c', config, '--mailbox', 'preview', '--json']);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const preview = JSON.parse(run.stdout) as PreviewJson;
    assert.equal(preview.messages.length, corpus.length);
    preview.messages.forEach((m, i) => {
      const c = corpus[i]!;
      const pending = m.outcome.recipients.filter((r) => r.status === 'pending').map((r) => r.address);
      for (const r of m.outcome.recipients) assert.ok(r.reason, `${c.id}: reason for ${r.address}`);
      if (c.quarantined === 'loop') assert.match(m.outcome.quarantine ?? '', /mail loop/, c.id);
      else if (c.quarantined === 'rule') {
        // Headers only: attachment names are unknown, and the preview says so.
        assert.equal(m.outcome.quarantine, undefined);
        assert.ok(
          m.outcome.explanation.some((l) => /attachment names unknown/.test(l)),
          c.id,
        );
      } else {
        assert.deepEqual(pending.sort(), [...c.expected].sort(), `${c.id} ${c.what}`);
        if (c.expected.length === 0) assert.match(m.outcome.duplicate ?? '', /already got/, c.id);
      }
    });

    // Nothing fetched, delivered or deleted: the same messages, byte for byte, and no SMTP traffic.
    const after = dovecot.messages('preview');
    assert.equal(after.length, before.length);
    assert.deepEqual(
      after.map((b) => b.toString('base64')).sort(),
      before.map((b) => b.toString('base64')).sort(),
    );
    assert.equal(receiver.received.length, 0);
    assert.match(dovecot.log(), /pop3\(preview\).*(Disconnected|Logged out).*top=\d+\/\d+.*del=0\/45/s);
  });

  test('the text form names the header and the rewrite', async () => {
    const run = await runCli(['route', '-c', config, '--mailbox', 'preview']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      /→ bob@corp\.local: Delivered-To \(added by mx1\.provider\.example\): bob@example\.com → bob@corp\.local via rewriteDomain/,
    );
    assert.match(run.stdout, /QUARANTINE: mail loop/);
    assert.match(run.stdout, /DUPLICATE: duplicate for every recipient/);
    assert.equal(dovecot.count('preview'), corpus.length);
  });

  test('an unknown mailbox is a usage error', async () => {
    const run = await runCli(['route', '-c', config, '--mailbox', 'nope']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /no mailbox named nope/);
  });
});
