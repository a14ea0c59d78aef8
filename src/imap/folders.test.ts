import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseFolders, DEFAULT_EXCLUDE, type ListedFolder, patternMatches } from './folders.js';

const f = (path: string, specialUse?: string, ...flags: string[]): ListedFolder => ({
  path,
  delimiter: '/',
  flags: new Set([...flags, ...(specialUse ? [specialUse] : [])]),
  specialUse,
});
const server = [
  f('INBOX'),
  f('Archive', '\\Archive'),
  f('Sent', '\\Sent'),
  f('Trash', '\\Trash'),
  f('Junk', '\\Junk'),
  f('Drafts', '\\Drafts'),
  f('Lists'),
  f('Lists/dev'),
  f('Shared', undefined, '\\Noselect'),
];

test('chooses folders from names, wildcards, exclusions and the move target', () => {
  const cases: Array<[string, string[], readonly string[], string[], string[], string[]]> = [
    ['INBOX by default', ['INBOX'], DEFAULT_EXCLUDE, [], ['INBOX'], []],
    ['INBOX in any case', ['inbox'], DEFAULT_EXCLUDE, [], ['INBOX'], []],
    ['several names', ['INBOX', 'Lists/dev'], DEFAULT_EXCLUDE, [], ['INBOX', 'Lists/dev'], []],
    ['an explicit name wins over exclude', ['Sent'], DEFAULT_EXCLUDE, [], ['Sent'], []],
    ['a missing name is reported', ['INBOX', 'Nope'], DEFAULT_EXCLUDE, [], ['INBOX'], ['Nope']],
    ['a \\Noselect name is missing', ['Shared'], [], [], [], ['Shared']],
    [
      '* skips Sent/Trash/Junk/Drafts by flag and \\Noselect',
      ['*'],
      DEFAULT_EXCLUDE,
      [],
      ['INBOX', 'Archive', 'Lists', 'Lists/dev'],
      [],
    ],
    [
      '* never reads the move target',
      ['*'],
      DEFAULT_EXCLUDE,
      ['Archive'],
      ['INBOX', 'Lists', 'Lists/dev'],
      [],
    ],
    [
      'exclude by name and pattern',
      ['*'],
      ['\\Sent', 'Lists*', 'junk'],
      [],
      ['INBOX', 'Archive', 'Trash', 'Junk', 'Drafts'],
      [],
    ],
    [
      'the move target under a namespace prefix',
      ['*'],
      DEFAULT_EXCLUDE,
      ['X', 'Lists/dev'],
      ['INBOX', 'Archive', 'Lists'],
      [],
    ],
    ['% stops at the delimiter', ['Lists/%'], [], [], ['Lists/dev'], []],
    ['no duplicates', ['INBOX', '*'], DEFAULT_EXCLUDE, ['Archive'], ['INBOX', 'Lists', 'Lists/dev'], []],
  ];
  for (const [name, wanted, exclude, moveTo, folders, missing] of cases) {
    assert.deepEqual(chooseFolders(server, wanted, exclude, moveTo), { folders, missing }, name);
  }
});

test('wildcards follow RFC 3501 LIST rules', () => {
  const cases: Array<[string, string, boolean]> = [
    ['*', 'a/b/c', true],
    ['%', 'a/b', false],
    ['a/%', 'a/b', true],
    ['a.b*', 'a.bc', true],
    ['a.b*', 'axbc', false], // '.' is literal
    ['INBOX', 'inbox', true],
  ];
  for (const [pattern, path, want] of cases)
    assert.equal(patternMatches(pattern, path, '/'), want, `${pattern} ${path}`);
});
