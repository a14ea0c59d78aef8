// ConfigError as callers see it: the error family, all problems in file order, no secrets in messages.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PostboteError } from '../errors.js';
import { formatPath } from './config-error.js';
import { BASE, captureError, edit, SALES } from './test-support.test.js';

describe('ConfigError', () => {
  test('the error belongs to the PostboteError family and is permanent', () => {
    const error = captureError(BASE + SALES);
    assert.ok(error instanceof PostboteError);
    assert.equal(error.code, 'CONFIG_INVALID');
    assert.equal(error.temporary, false);
    assert.equal(
      error.message,
      'postbote.yaml:12:11: mailboxes[1].port: expected a number from 1 to 65535, got "abc"',
    );
  });

  test('lists every problem of the file in file order', () => {
    const yaml = edit('  host: mx.corp.local', '  host: mx.corp.local\n  tls: startls').replace(
      '    deliverTo:',
      '    delivrTo:',
    );
    const error = captureError(`${yaml}scheduler: { interval: soon }\n`);
    assert.deepEqual(
      error.issues.map((issue) => issue.path),
      ['target.tls', 'mailboxes[0].delivrTo', 'scheduler.interval'],
    );
    assert.match(error.describeAll(), /^postbote\.yaml:3:8: target\.tls: .* - did you mean starttls\?\n/);
  });

  test('an unreadable passwordFile names the file and the line', () => {
    const error = captureError(edit('password: secret', 'passwordFile: missing-password'));
    assert.equal(error.path, 'mailboxes[0].passwordFile');
    assert.equal(error.line, 7);
    assert.match(error.message, /cannot read password file \/nonexistent\/missing-password \(ENOENT\)/);
  });

  test('never echoes a password in a message', () => {
    const error = captureError(edit('    password: secret', '    password: secret\n    pasword: hunter2'));
    assert.equal(error.hint, 'did you mean password?');
    assert.doesNotMatch(error.describeAll(), /hunter2/);
  });

  test('formats key paths the way users write them', () => {
    assert.equal(formatPath(['mailboxes', 1, 'port']), 'mailboxes[1].port');
    assert.equal(
      formatPath(['mailboxes', 0, 'catchAll', 'aliases', '*@example.org']),
      'mailboxes[0].catchAll.aliases["*@example.org"]',
    );
    assert.equal(formatPath([]), '');
  });
});

test('does not attach the parsed input (with passwords) as the cause', () => {
  const error = captureError(edit('    password: secret', '    password: secret\n    pasword: hunter2'));
  assert.equal(error.cause, undefined);
  assert.doesNotMatch(JSON.stringify(error), /secret|hunter2/);
});
