import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parseConfig } from './index.js';

const BASE = `target: { host: mx.corp.local }
mailboxes:
  - name: catchall
    host: pop.example.com
    user: catchall@example.com
    password: secret
    catchAll: { domains: [example.com], fallback: postmaster@corp.local, duplicateWindow: 2h }
`;

const parse = (yaml: string) =>
  parseConfig(yaml, { file: 'postbote.yaml', baseDir: '/nonexistent', env: {} });

function errorOf(yaml: string): ConfigError {
  try {
    parse(yaml);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('expected a ConfigError');
}

describe('catchAll.duplicateWindow and rules', () => {
  test('duplicateWindow is a duration, 7 days by default, 0 allowed', () => {
    assert.equal(parse(BASE).mailboxes[0]!.catchAll?.duplicateWindow, 7_200_000);
    assert.equal(
      parse(BASE.replace(', duplicateWindow: 2h', '')).mailboxes[0]!.catchAll?.duplicateWindow,
      7 * 86_400_000,
    );
    assert.equal(parse(BASE.replace('2h', '0')).mailboxes[0]!.catchAll?.duplicateWindow, 0);
    assert.match(
      errorOf(BASE.replace('2h', 'soon')).message,
      /catchAll.duplicateWindow: expected a duration/,
    );
  });

  test('a full rule list is normalised: globs, sizes in bytes, address lists, bare stop', () => {
    const config = parse(`${BASE}    rules:
      - name: invoices
        if:
          all:
            - subject: "*invoice*"
            - any: [{ sender: "*@supplier.example" }, { header: { name: List-Id, value: { contains: acct } } }]
            - not: { attachment: { regex: "\\\\.exe$" } }
            - size: { under: 5MB }
        then: [{ reroute: accounting@corp.local }, { copyTo: [archive@corp.local] }, stop]
      - if: { recipient: "sales@*" }
        then: [{ addRecipient: bob }, { quarantine: check first }]
`);
    assert.deepEqual(config.mailboxes[0]!.rules, [
      {
        name: 'invoices',
        if: {
          all: [
            { subject: { glob: '*invoice*' } },
            {
              any: [
                { sender: { glob: '*@supplier.example' } },
                { header: { name: 'List-Id', value: { contains: 'acct' } } },
              ],
            },
            { not: { attachment: { regex: '\\.exe$' } } },
            { size: { under: 5 * 1024 * 1024 } },
          ],
        },
        actions: [{ reroute: ['accounting@corp.local'] }, { copyTo: ['archive@corp.local'] }, { stop: true }],
      },
      {
        if: { recipient: { glob: 'sales@*' } },
        actions: [{ addRecipient: ['bob'] }, { quarantine: 'check first' }],
      },
    ]);
  });

  const bad: Array<[what: string, rules: string, path: string, message: RegExp, line: number]> = [
    [
      'an unknown condition',
      '      - if: { subjet: x }\n        then: [stop]',
      'rules[0].if.subjet',
      /unknown condition "subjet"/,
      9,
    ],
    [
      'an invalid regex',
      '      - if: { subject: { regex: "(" } }\n        then: [stop]',
      'rules[0].if.subject.regex',
      /invalid regular expression/,
      9,
    ],
    [
      'a bad reroute address',
      '      - if: { subject: x }\n        then: [{ reroute: [ok@corp.local, "not an address"] }]',
      'rules[0].then[0].reroute[1]',
      /expected an address/,
      10,
    ],
    [
      'an unknown action',
      '      - if: { subject: x }\n        then: [{ forward: a@b.c }]',
      'rules[0].then[0].forward',
      /unknown action "forward"/,
      10,
    ],
    ['a missing then', '      - if: { subject: x }', 'rules[0]', /then: is required/, 9],
    [
      'a size without bounds',
      '      - if: { size: { over: lots } }\n        then: [stop]',
      'rules[0].if.size',
      /expected \{ over: SIZE \}/,
      9,
    ],
    [
      'two keys in one condition',
      '      - if: { subject: x, sender: y }\n        then: [stop]',
      'rules[0].if',
      /exactly one of/,
      9,
    ],
  ];
  for (const [what, rules, path, message, line] of bad) {
    test(`refuses ${what} at its line`, () => {
      const error = errorOf(`${BASE}    rules:\n${rules}\n`);
      assert.equal(error.path, `mailboxes[0].${path}`, error.describeAll());
      assert.match(error.issues[0]!.message, message);
      assert.equal(error.line, line);
    });
  }
});
