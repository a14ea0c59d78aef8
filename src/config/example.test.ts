// The commented example at the project root is the README's reference: it must always load.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from './index.js';

const EXAMPLE = fileURLToPath(new URL('../../postbote.example.yaml', import.meta.url));

test('postbote.example.yaml loads cleanly with its variables and password file in place', () => {
  const dir = mkdtempSync(join(tmpdir(), 'postbote-example-'));
  try {
    copyFileSync(EXAMPLE, join(dir, 'postbote.yaml'));
    mkdirSync(join(dir, 'secrets'));
    writeFileSync(join(dir, 'secrets/catchall-password'), 'catchall-secret\n');
    const config = loadConfig(join(dir, 'postbote.yaml'), { INFO_PASSWORD: 'info-secret' });

    assert.equal(config.target.port, 2526);
    assert.equal(config.target.localAddress, '192.168.1.10');
    assert.deepEqual(
      config.mailboxes.map((m) => [m.name, m.port, m.password]),
      [
        ['info', 995, 'info-secret'],
        ['catchall', 995, 'catchall-secret'],
        ['support', 143, 'change-me'],
        ['office', 993, ''],
      ],
    );
    assert.equal(config.mailboxes[1]!.catchAll?.rewriteDomain, 'corp.local');
    assert.deepEqual(config.mailboxes[2]!.exclude, ['\\Sent', '\\Trash', '\\Junk', '\\Drafts']);
    assert.deepEqual(config.mailboxes[2]!.afterDelivery, { moveTo: 'Archive' });
    assert.equal(config.mailboxes[3]!.oauth2?.tokenFile, join(dir, 'data', 'oauth', 'office.token'));
    assert.equal(config.state, join(dir, 'data'));
    assert.deepEqual(
      config.filters?.scanners.map((s) => s.type),
      ['rspamd', 'clamd'],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
