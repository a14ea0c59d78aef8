// Shared fixtures for the configuration tests: a minimal valid file, a second mailbox with a bad port,
// and the ConfigError a text raises. Named *.test.ts so the build leaves it out; it holds no tests itself.
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from './index.js';

// Line numbers in the tests refer to this text: 1 target, 3 mailboxes, 4 "- name: info", 7 password, 8 deliverTo.
export const BASE = `target:
  host: mx.corp.local
mailboxes:
  - name: info
    host: pop.example.com
    user: info@example.com
    password: secret
    deliverTo: [info@corp.local]
`;

/** A second mailbox whose port is not a number. */
export const SALES = `  - name: sales
    host: pop.example.com
    user: sales@example.com
    port: abc
    password: secret
    deliverTo: [sales@corp.local]
`;

/** BASE with one piece of text replaced; fails if the piece is not there (a test that edits nothing). */
export const edit = (from: string, to: string) => {
  assert.ok(BASE.includes(from), from);
  return BASE.replace(from, to);
};

/** The ConfigError that parsing `yaml` raises; fails the test if it parses. */
export function captureError(yaml: string, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    parseConfig(yaml, { file: 'postbote.yaml', baseDir: '/nonexistent', env });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  assert.fail('expected a ConfigError');
}
