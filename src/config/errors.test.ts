// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the tests write ${VAR} references as YAML text
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BASE, captureError, edit, SALES } from './test-support.test.js';

// Line numbers below refer to BASE (test-support.test.ts).

interface Case {
  name: string;
  yaml: string;
  env?: NodeJS.ProcessEnv;
  path: string;
  line: number;
  column: number;
  message: string | RegExp;
  hint?: RegExp;
}

const cases: Case[] = [
  {
    name: 'an unknown key deep in a mailbox, with the closest known key as hint',
    yaml: edit('    deliverTo:', '    delivrTo:'),
    path: 'mailboxes[0].delivrTo',
    line: 8,
    column: 5,
    message: 'unknown key "delivrTo"',
    hint: /^did you mean deliverTo\?$/,
  },
  {
    name: 'an unknown top-level key, without a second error for the key it misspells',
    yaml: edit('mailboxes:', 'mailbox:'),
    path: 'mailbox',
    line: 3,
    column: 1,
    message: 'unknown key "mailbox"',
    hint: /did you mean mailboxes\?/,
  },
  {
    name: 'an unknown key without a close match lists the known keys',
    yaml: edit('  host: mx.corp.local', '  host: mx.corp.local\n  colour: blue'),
    path: 'target.colour',
    line: 3,
    column: 3,
    message: 'unknown key "colour"',
    hint: /known keys here: host, port, protocol/,
  },
  {
    name: 'a bad enum value',
    yaml: edit('  host: mx.corp.local', '  host: mx.corp.local\n  tls: startls'),
    path: 'target.tls',
    line: 3,
    column: 8,
    message: 'expected one of none, starttls, tls, got "startls"',
    hint: /did you mean starttls\?/,
  },
  {
    name: 'a port that is not a number',
    yaml: BASE + SALES,
    path: 'mailboxes[1].port',
    line: 12,
    column: 11,
    message: 'expected a number from 1 to 65535, got "abc"',
  },
  {
    name: 'a port out of range',
    yaml: edit('  host: mx.corp.local', '  host: mx.corp.local\n  port: 70000'),
    path: 'target.port',
    line: 3,
    column: 9,
    message: 'expected a number from 1 to 65535, got 70000',
  },
  {
    name: 'a missing required key points at its parent',
    yaml: edit('  host: mx.corp.local', '  port: 2526'),
    path: 'target.host',
    line: 1,
    column: 1,
    message: 'required',
    hint: /add host: under target/,
  },
  {
    name: 'a missing required section points at the top',
    yaml: BASE.replace('target:\n  host: mx.corp.local\n', '# no target\n'),
    path: 'target',
    line: 2,
    column: 1,
    message: 'required',
    hint: /add target: at the top level/,
  },
  {
    name: 'a mailbox without deliverTo or catchAll points at the mailbox',
    yaml: edit('    deliverTo: [info@corp.local]\n', ''),
    path: 'mailboxes[0]',
    line: 4,
    column: 5,
    message: 'deliverTo or catchAll is required',
    hint: /deliverTo: \[/,
  },
  {
    name: 'an unset environment variable names the variable',
    yaml: edit('password: secret', 'password: ${INFO_PASSWORD}'),
    path: 'mailboxes[0].password',
    line: 7,
    column: 15,
    message: 'environment variable INFO_PASSWORD is not set',
    hint: /set INFO_PASSWORD .*\$\{INFO_PASSWORD:-default\}/,
  },
  {
    name: 'a malformed variable reference',
    yaml: edit('password: secret', 'password: ${INFO PASSWORD}'),
    path: 'mailboxes[0].password',
    line: 7,
    column: 15,
    message: /malformed/,
  },
  {
    name: 'password and passwordFile both set',
    yaml: edit('    password: secret', '    password: secret\n    passwordFile: pw.txt'),
    path: 'mailboxes[0].passwordFile',
    line: 8,
    column: 19,
    message: 'password and passwordFile are both set',
    hint: /keep one/,
  },
  {
    name: 'neither password nor passwordFile',
    yaml: edit('    password: secret\n', ''),
    path: 'mailboxes[0]',
    line: 4,
    column: 5,
    message: 'password or passwordFile is required',
  },
  {
    name: 'deleteAfterDays without keep',
    yaml: `${BASE}    deleteAfterDays: 30\n`,
    path: 'mailboxes[0].deleteAfterDays',
    line: 9,
    column: 22,
    message: 'deleteAfterDays needs keep: true',
    hint: /keep: true/,
  },
  {
    name: 'a duplicate mailbox name points at the second',
    yaml: BASE + SALES.replace('sales\n', 'info\n').replace('abc', '110'),
    path: 'mailboxes[1].name',
    line: 9,
    column: 11,
    message: /mailbox name "info" is used twice \(also mailboxes\[0\]\)/,
  },
  {
    name: 'a YAML syntax error',
    yaml: edit('    user: info@example.com', '    user: info@example.com\n   bad: indent'),
    path: '',
    line: 7,
    column: 1,
    message: /^YAML syntax: /,
  },
  {
    name: 'a duplicate YAML key',
    yaml: edit('    user: info@example.com', '    user: info@example.com\n    user: other'),
    path: '',
    line: 7,
    column: 5,
    message: /^YAML syntax: Map keys must be unique/,
  },
  {
    name: 'an empty file',
    yaml: '# nothing yet\n',
    path: '',
    line: 1,
    column: 1,
    message: 'the configuration is empty',
  },
  {
    name: 'a bad address in a list points at the item',
    yaml: edit('[info@corp.local]', '[info@corp.local, not-an-address]'),
    path: 'mailboxes[0].deliverTo[1]',
    line: 8,
    column: 34,
    message: 'expected an address like user@example.com, got "not-an-address"',
  },
  {
    name: 'an empty deliverTo',
    yaml: edit('[info@corp.local]', '[]'),
    path: 'mailboxes[0].deliverTo',
    line: 8,
    column: 16,
    message: 'expected at least one entry',
  },
  {
    name: 'a duration that is not one',
    yaml: `${BASE}    interval: 5 minutes\n`,
    path: 'mailboxes[0].interval',
    line: 9,
    column: 15,
    message: /^expected a duration like 30s, 5m, 1h or 2d/,
  },
  {
    name: 'a size that is not one',
    yaml: `${BASE}delivery: { maxMessageSize: 25 megs }\n`,
    path: 'delivery.maxMessageSize',
    line: 9,
    column: 29,
    message: /^expected a size like 512KB, 25MB or 1GB/,
  },
  {
    name: 'yes instead of true',
    yaml: `${BASE}    keep: yes\n`,
    path: 'mailboxes[0].keep',
    line: 9,
    column: 11,
    message: 'expected true or false, got "yes"',
    hint: /write true or false/,
  },
  {
    name: 'a mapping where a list belongs',
    yaml: 'target: { host: mx.corp.local }\nmailboxes: { name: info }\n',
    path: 'mailboxes',
    line: 2,
    column: 12,
    message: 'expected a list, got a mapping',
  },
  {
    name: 'an empty section',
    yaml: 'target:\nmailboxes: []\n',
    path: 'target',
    line: 1,
    column: 1,
    message: 'expected a mapping (key: value), got an empty value',
  },
  {
    name: 'a localAddress that is not an IP address',
    yaml: edit('  host: mx.corp.local', '  host: mx.corp.local\n  localAddress: corp.local'),
    path: 'target.localAddress',
    line: 3,
    column: 17,
    message: /^expected an IP address/,
  },
  {
    name: 'APOP on an IMAP mailbox',
    yaml: `${BASE}    protocol: imap\n    auth: apop\n`,
    path: 'mailboxes[0].auth',
    line: 10,
    column: 11,
    message: 'auth: apop is a POP3 login method',
  },
  {
    name: 'a bad mailbox name',
    yaml: edit('name: info', 'name: "my mailbox"'),
    path: 'mailboxes[0].name',
    line: 4,
    column: 11,
    message: /^expected a name of letters, digits/,
  },
  {
    name: 'a receive deliver block with two targets',
    yaml: `${BASE}receive:
  - name: in
    bindings: ["0.0.0.0:2526"]
    remoteIpRanges: [192.168.1.10]
    acceptedDomains: [corp.local]
    deliver: { lmtp: "127.0.0.1:24", smtp: "10.0.0.1:25" }
`,
    path: 'receive[0].deliver',
    line: 14,
    column: 14,
    message: 'only one of lmtp, maildir or smtp',
  },
  {
    name: 'a typo in the web block',
    yaml: `${BASE}web: { lisen: "127.0.0.1:8025" }\n`,
    path: 'web.lisen',
    line: 9,
    column: 8,
    message: 'unknown key "lisen"',
    hint: /did you mean listen\?/,
  },
];

describe('configuration errors', () => {
  for (const c of cases) {
    test(`reports ${c.name} with its line and column`, () => {
      const error = captureError(c.yaml, c.env);
      const first = error.issues[0]!;
      assert.deepEqual(
        { path: error.path, line: error.line, column: error.column },
        { path: c.path, line: c.line, column: c.column },
        error.describeAll(),
      );
      if (typeof c.message === 'string') assert.equal(first.message, c.message);
      else assert.match(first.message, c.message);
      if (c.hint) assert.match(error.hint ?? '', c.hint);
      const where = c.path ? `${c.path}: ` : '';
      assert.equal(error.message, `postbote.yaml:${c.line}:${c.column}: ${where}${first.message}`);
    });
  }
});

describe('all problems of a file at once', () => {
  test('every problem is listed, in file order, in the message the CLI prints', () => {
    const yaml = edit('  host: mx.corp.local', '  host: mx.corp.local\n  prot: 25') + SALES;
    const error = captureError(yaml);
    assert.deepEqual(
      error.issues.map((i) => i.path),
      ['target.prot', 'mailboxes[1].port'],
    );
    const text = error.describe();
    assert.match(text, /postbote\.yaml:3:3: target\.prot: unknown key "prot"/);
    assert.match(text, /postbote\.yaml:13:11: mailboxes\[1\]\.port: expected a number/);
  });

  test('an unset variable does not hide the other problems', () => {
    const yaml = edit('password: secret', 'password: ${INFO_PASSWORD}') + SALES;
    const error = captureError(yaml);
    assert.deepEqual(
      error.issues.map((i) => i.path),
      ['mailboxes[0].password', 'mailboxes[1].port'],
    );
  });

  test('at most 20 are listed, then how many more', () => {
    const many = Array.from({ length: 25 }, (_, i) => `  unknown${i}: x`).join('\n');
    const error = captureError(edit('  host: mx.corp.local', `  host: mx.corp.local\n${many}`));
    assert.equal(error.issues.length, 25);
    const lines = error.describe().split('\n');
    assert.equal(lines.length, 21, error.describe());
    assert.match(lines[20]!, /and 5 more problems/);
  });
});

describe('YAML indentation mistakes point at the line that has them', () => {
  const table: Array<[string, string, number]> = [
    ['a key indented deeper than its neighbours', edit('    password: secret', '      password: secret'), 7],
    ['a key indented one space deeper', edit('    deliverTo:', '     deliverTo:'), 8],
    ['a key indented less than its neighbours', edit('    password: secret', '   password: secret'), 7],
    ['a key back at the parent’s column', edit('    password: secret', '  password: secret'), 7],
    ['a target key out of line', edit('  host: mx.corp.local', '  host: mx.corp.local\n port: 25'), 3],
  ];
  for (const [name, yaml, line] of table) {
    test(name, () => {
      const error = captureError(yaml);
      assert.equal(error.line, line, error.describe());
      assert.match(error.issues[0]!.message, /^YAML syntax: /);
      assert.match(error.hint ?? '', /indent/);
      assert.equal(
        new Set(error.issues.map((i) => i.line)).size,
        error.issues.length,
        'one problem per line',
      );
    });
  }
});

describe('hints that name the value to write', () => {
  const table: Array<[string, string, string, RegExp]> = [
    ['5 minutes', `${BASE}    interval: 5 minutes\n`, 'mailboxes[0].interval', /did you mean 5m\?/],
    ['2 hours', `${BASE}    interval: 2 hours\n`, 'mailboxes[0].interval', /did you mean 2h\?/],
    [
      '25 megs',
      `${BASE}delivery: { maxMessageSize: 25 megs }\n`,
      'delivery.maxMessageSize',
      /did you mean 25MB\?/,
    ],
    [
      '500 kilobytes',
      `${BASE}    maxMessageSize: 500 kilobytes\n`,
      'mailboxes[0].maxMessageSize',
      /did you mean 500KB\?/,
    ],
    [
      '30 sec',
      `${BASE}    timeouts: { connect: 30 sec }\n`,
      'mailboxes[0].timeouts.connect',
      /did you mean 30s\?/,
    ],
    [
      'a local part alone',
      edit('[info@corp.local]', '[info]'),
      'mailboxes[0].deliverTo[0]',
      /did you mean info@corp\.local\?/,
    ],
    [
      'a local part in a second mailbox',
      BASE + SALES.replace('abc', '110').replace('[sales@corp.local]', '[sales]'),
      'mailboxes[1].deliverTo[0]',
      /did you mean sales@corp\.local\?/,
    ],
  ];
  for (const [name, yaml, path, hint] of table) {
    test(name, () => {
      const error = captureError(yaml);
      assert.equal(error.path, path, error.describe());
      assert.match(error.hint ?? '', hint);
    });
  }
});

describe('secrets are never echoed in errors', () => {
  const receive = (hash: string) => `${BASE}receive:
  - name: in
    bindings: ["0.0.0.0:2526"]
    remoteIpRanges: [192.168.1.10]
    auth: required
    users: [{ user: alice, passwordHash: "${hash}" }]
    acceptedDomains: [corp.local]
    deliver: { maildir: mail }
`;
  const table: Array<[string, string, string, string]> = [
    [
      'receive[].users[].passwordHash',
      receive('Winter2026!pasted'),
      'receive[0].users[0].passwordHash',
      'Winter2026!pasted',
    ],
    [
      'web.apiTokens[].tokenHash',
      `${BASE}web: { apiTokens: [{ name: ci, tokenHash: "my-plain-token-123" }] }\n`,
      'web.apiTokens[0].tokenHash',
      'my-plain-token-123',
    ],
    [
      'web.users[].passwordHash',
      `${BASE}web: { users: [{ user: admin, passwordHash: "Sommer2026!x" }] }\n`,
      'web.users[0].passwordHash',
      'Sommer2026!x',
    ],
    [
      'a password of the wrong type',
      edit('password: secret', 'password: [hunter2secret]'),
      'mailboxes[0].password',
      'hunter2secret',
    ],
    [
      'a target.auth password of the wrong type',
      edit(
        '  host: mx.corp.local',
        '  host: mx.corp.local\n  auth: { user: u, password: { hunter2secret: 1 } }',
      ),
      'target.auth.password',
      'hunter2secret',
    ],
  ];
  for (const [name, yaml, path, secret] of table) {
    test(name, () => {
      const error = captureError(yaml);
      assert.equal(error.path, path, error.describe());
      assert.ok(!error.describe().includes(secret), error.describe());
      assert.ok(!JSON.stringify(error.toJSON()).includes(secret), 'nor in the JSON');
    });
  }
});
