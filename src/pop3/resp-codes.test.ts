import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifyErr, type Pop3Stage, refusalError } from './resp-codes.js';

describe('classifyErr', () => {
  const CASES: Array<[code: string | undefined, stage: Pop3Stage, expected: string, temporary: boolean]> = [
    ['IN-USE', 'auth', 'POP3_IN_USE', true],
    ['LOGIN-DELAY', 'auth', 'POP3_LOGIN_DELAY', true],
    ['SYS/TEMP', 'auth', 'POP3_SYS_TEMP', true],
    ['SYS/TEMP', 'command', 'POP3_SYS_TEMP', true],
    ['SYS/PERM', 'auth', 'POP3_SYS_PERM', false],
    ['SYS/PERM', 'greeting', 'POP3_SYS_PERM', false],
    ['AUTH', 'auth', 'POP3_AUTH', false],
    ['AUTH', 'command', 'POP3_AUTH', false],
    ['SYS/TEMP/EXTRA', 'auth', 'POP3_SYS_TEMP', true],
    ['SYS', 'auth', 'POP3_AUTH', false],
    ['IN-USEX', 'auth', 'POP3_AUTH', false],
    ['UTF8', 'auth', 'POP3_AUTH', false],
    [undefined, 'auth', 'POP3_AUTH', false],
    [undefined, 'greeting', 'POP3_GREETING', true],
    [undefined, 'dele', 'POP3_COMMAND', true],
    [undefined, 'command', 'POP3_COMMAND', true],
    [undefined, 'quit', 'POP3_COMMAND', true],
    ['UNKNOWN-CODE', 'dele', 'POP3_COMMAND', true],
  ];
  for (const [code, stage, expected, temporary] of CASES) {
    test(`-ERR [${code ?? ''}] during ${stage} is ${expected}, ${temporary ? 'temporary' : 'permanent'}`, () => {
      const reply =
        code === undefined
          ? { status: '-ERR' as const, text: 'x' }
          : { status: '-ERR' as const, code, text: 'x' };
      const cls = classifyErr(reply, stage);
      assert.equal(cls.code, expected);
      assert.equal(cls.temporary, temporary);
    });
  }

  test('IN-USE tells the user another client holds the mailbox', () => {
    assert.match(
      classifyErr({ status: '-ERR', code: 'IN-USE', text: '' }, 'auth').hint ?? '',
      /another client/,
    );
  });
});

describe('refusalError', () => {
  test('names the refused command by its verb and keeps the server reply and the class of its code', () => {
    const err = refusalError(
      { status: '-ERR', code: 'SYS/TEMP', text: 'try later' },
      'command',
      'RETR 3',
      'w',
    );
    assert.equal(err.code, 'POP3_SYS_TEMP');
    assert.equal(err.temporary, true);
    assert.equal(err.message, 'RETR refused: try later');
    assert.equal(err.command, 'RETR 3');
    assert.equal(err.where, 'w');
    assert.deepEqual(err.reply, { code: '-ERR', enhanced: 'SYS/TEMP', text: 'try later' });
    assert.equal(err.hint, 'a temporary problem at the provider');
  });

  test('a -ERR without text or code says no reason was given and has no hint', () => {
    const err = refusalError({ status: '-ERR', text: '' }, 'dele', 'DELE 1', 'w');
    assert.equal(err.message, 'DELE refused: no reason given');
    assert.equal(err.code, 'POP3_COMMAND');
    assert.equal(err.hint, undefined);
  });
});
