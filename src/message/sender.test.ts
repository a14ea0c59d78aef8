import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { envelopeSender } from '../connector/fetch-message.js';
import { parseHeaders } from './headers.js';

const plan = { envelopeSender: 'return-path', user: 'info@example.com' };
const sender = (block: string) => envelopeSender(plan, parseHeaders(`${block}\r\n\r\nbody\r\n`));

describe('envelope sender from the headers (delivery.envelopeSender: return-path)', () => {
  const cases: Array<[string, string, string]> = [
    ['Return-Path as recorded', 'Return-Path: <Alice@Example.COM>\r\nFrom: b@c.example', 'Alice@example.com'],
    ['Return-Path <> is the null sender', 'Return-Path: <>\r\nFrom: b@c.example', ''],
    ['Return-Path < > with spaces is the null sender', 'Return-Path: < >\r\nFrom: b@c.example', ''],
    [
      'Return-Path garbage is the null sender, not From',
      'Return-Path: <not an address\r\nFrom: b@c.example',
      '',
    ],
    ['Return-Path without a domain is the null sender', 'Return-Path: <MAILER-DAEMON>', ''],
    ['no Return-Path: the From address', 'From: Alice Example <alice@example.com>', 'alice@example.com'],
    [
      'an address in a quoted display name is never taken',
      'From: "<ceo@corp.local>" <attacker@evil.example>',
      'attacker@evil.example',
    ],
    [
      'an address as an unquoted display name is never taken',
      'From: ceo@corp.local <attacker@evil.example>',
      'attacker@evil.example',
    ],
    [
      'a display name with specials and comments',
      'From: "Müller, Hans (IT)" <hans@example.de> (work)',
      'hans@example.de',
    ],
    ['an encoded display name', 'From: =?utf-8?q?M=C3=BCller_<x@y.z>?= <m@example.de>', 'm@example.de'],
    ['From without a domain is the null sender', 'From: Mail Delivery Subsystem <postmaster>', ''],
    ['From with a dotless domain is the null sender', 'From: root@localhost', ''],
    ['unparsable From is the null sender', 'From: "unterminated <', ''],
    ['display name only is the null sender', 'From: Some Name', ''],
    ['no sender headers at all', 'Subject: x', ''],
    ['a domain literal is a full address', 'From: <ops@[192.0.2.1]>', 'ops@[192.0.2.1]'],
    ['a quoted local part stays quoted', 'From: <"john doe"@example.com>', '"john doe"@example.com'],
  ];
  for (const [name, block, expected] of cases) test(name, () => assert.equal(sender(block), expected));

  test('the configured forms are unchanged', () => {
    const h = parseHeaders('From: a@b.example\r\n\r\n');
    assert.equal(
      envelopeSender({ envelopeSender: 'mailbox', user: 'info@example.com' }, h),
      'info@example.com',
    );
    assert.equal(envelopeSender({ envelopeSender: 'mailbox', user: 'info' }, h), '');
    assert.equal(envelopeSender({ envelopeSender: '<>', user: 'info@example.com' }, h), '');
    assert.equal(envelopeSender({ envelopeSender: 'fixed@corp.local', user: 'x' }, h), 'fixed@corp.local');
  });
});
