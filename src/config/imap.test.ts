// The IMAP mailbox keys: defaults, the shapes accepted, and what is refused with the line to fix.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseConfig } from './index.js';

const yaml = (protocol: string, extra: string) => `
target: { host: mx.corp.local }
mailboxes:
  - name: m
    protocol: ${protocol}
    host: imap.example
    user: u
    password: p
    deliverTo: [a@corp.local]
${extra
  .split('\n')
  .filter(Boolean)
  .map((l) => `    ${l}`)
  .join('\n')}
`;
const parse = (protocol: string, extra = '') =>
  parseConfig(yaml(protocol, extra), { file: 'p.yaml', baseDir: '/', env: {} }).mailboxes[0]!;
const refusal = (protocol: string, extra: string) => {
  try {
    parse(protocol, extra);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('accepted');
};

test('IMAP defaults: port 993 with tls, 143 otherwise; INBOX; Sent/Trash/Junk/Drafts excluded; delete', () => {
  const m = parse('imap');
  assert.equal(m.port, 993);
  assert.deepEqual(m.folders, ['INBOX']);
  assert.deepEqual(m.exclude, ['\\Sent', '\\Trash', '\\Junk', '\\Drafts']);
  assert.equal(m.afterDelivery, 'delete');
  assert.equal(parse('imap', 'tls: starttls').port, 143);
});

test('IMAP keys are read as written', () => {
  const m = parse('imap', 'folders: ["*"]\nexclude: ["\\\\Sent", Spam]\nafterDelivery: { moveTo: Archive }');
  assert.deepEqual(m.folders, ['*']);
  assert.deepEqual(m.exclude, ['\\Sent', 'Spam']);
  assert.deepEqual(m.afterDelivery, { moveTo: 'Archive' });
});

test('idle: unset by default (watch when the server announces IDLE), true or false as written', () => {
  assert.equal(parse('imap').idle, undefined);
  assert.equal(parse('imap', 'idle: true').idle, true);
  assert.equal(parse('imap', 'idle: false').idle, false);
});

test('refuses IMAP keys on POP3, a move target that is read, and bad shapes', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['pop3', 'folders: [INBOX]', /mailboxes\[0\]\.folders: folders is an IMAP setting/],
    ['pop3', 'afterDelivery: delete', /afterDelivery is an IMAP setting/],
    ['pop3', 'idle: true', /mailboxes\[0\]\.idle: idle is an IMAP setting/],
    ['imap', 'idle: sometimes', /idle/],
    [
      'imap',
      'folders: [INBOX, Archive]\nafterDelivery: { moveTo: Archive }',
      /moveTo Archive is also a folder Postbote reads/,
    ],
    ['imap', 'afterDelivery: { moveTo: INBOX }', /moveTo INBOX is also a folder/],
    ['imap', 'afterDelivery: archive', /expected delete or \{ moveTo: FOLDER \}/],
    ['imap', 'afterDelivery: { moveTo: "Arch*" }', /expected delete or \{ moveTo: FOLDER \}/],
    ['imap', 'folders: []', /expected at least one entry/],
  ];
  for (const [protocol, extra, want] of cases) assert.match(refusal(protocol, extra), want, extra);
});
