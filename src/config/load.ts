// Reads postbote.yaml: YAML with line positions, ${VAR} substitution, the schema, then file resolution.
// Every failure becomes one ConfigError listing all problems with file:line:column.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError, formatPath } from './config-error.js';
import { configDomains } from './domains.js';
import { substituteEnv } from './env.js';
import { fromZodIssues, type Locator } from './issues.js';
import { locate } from './locate.js';
import { resolveConfig } from './resolve.js';
import { configSchema } from './schema.js';
import type { Config } from './types.js';
import { yamlSyntaxIssues } from './yaml-syntax.js';

export interface ParseConfigOptions {
  /** Shown in messages (`postbote.yaml:12:11: …`). */
  file: string;
  /** Folder that relative paths (state, ca, passwordFile, maildir) are resolved against. */
  baseDir: string;
  /** Variables for ${VAR}; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

// YAML aliases can expand exponentially ("billion laughs"); a real config uses a handful at most.
const MAX_ALIAS_COUNT = 100;

/** Reads and validates the configuration file. Throws ConfigError. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError(
      file,
      [
        {
          path: '',
          line: 1,
          column: 1,
          message: `cannot read the configuration file (${code})`,
          hint: 'pass the file with -c FILE; postbote.example.yaml is a commented starting point',
        },
      ],
      err,
    );
  }
  return parseConfig(text, { file, baseDir: dirname(resolve(file)), env });
}

/** Validates configuration text; for tests and for callers that build the YAML in memory. Throws ConfigError. */
export function parseConfig(text: string, options: ParseConfigOptions): Config {
  const { file, baseDir, env = process.env } = options;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });

  if (doc.errors.length > 0) {
    throw new ConfigError(file, yamlSyntaxIssues(text, doc.errors, lineCounter));
  }

  // Kept until the schema has run, so an unset variable does not hide the file's other problems.
  const envIssues = substituteEnv(doc, lineCounter, env);

  const data: unknown = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  if (data === null || data === undefined) {
    throw new ConfigError(file, [
      {
        path: '',
        line: 1,
        column: 1,
        message: 'the configuration is empty',
        hint: 'start from postbote.example.yaml: target: and mailboxes: are required',
      },
    ]);
  }

  const locator: Locator = (path, at) => locate(doc, lineCounter, path, at);
  // jitless: zod's compiled fast path pays off from the second parse of a schema; a configuration is
  // parsed once per start (or reload), and compiling it cost a fetch 4 ms of its start-up CPU (13 → 9).
  const parsed = configSchema.safeParse(data, { reportInput: true, jitless: true });
  if (!parsed.success || envIssues.length > 0) {
    // A value whose variable is unset is reported once, as such, not again as a bad value.
    const unset = new Set(envIssues.map((issue) => issue.path));
    const schemaIssues = parsed.success
      ? []
      : fromZodIssues(parsed.error.issues, locator, { domains: configDomains(data), data });
    // No cause: zod's issues carry the input values, passwords included.
    throw new ConfigError(file, [...envIssues, ...schemaIssues.filter((issue) => !unset.has(issue.path))]);
  }

  const { config, issues } = resolveConfig(parsed.data, baseDir);
  if (issues.length > 0) {
    throw new ConfigError(
      file,
      issues.map((issue) => ({
        path: formatPath(issue.path),
        ...locator(issue.path),
        message: issue.message,
        ...(issue.hint ? { hint: issue.hint } : {}),
      })),
    );
  }
  return config;
}
