// ConfigError: every problem in the configuration, each with file:line:column, the key path and a hint.
import { PostboteError } from '../errors.js';

// A file with more problems than this is usually not a Postbote configuration at all (or one YAML
// mistake shifted everything after it): a screenful is enough to act on, the rest would scroll it away.
export const MAX_LISTED_ISSUES = 20;

/** One problem found in the configuration file. */
export interface ConfigIssue {
  /** Key path like `mailboxes[1].port`; '' for problems of the file as a whole (YAML syntax). */
  path: string;
  /** 1-based line and column of the offending value (or of the parent, for a missing key). */
  line: number;
  column: number;
  message: string;
  hint?: string;
}

/**
 * The configuration is invalid. The message names the first problem (in file order) as
 * `postbote.yaml:12:11: mailboxes[1].port: expected …`; `issues` holds all of them, so the CLI can
 * list everything that needs fixing in one go.
 */
export class ConfigError extends PostboteError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly path: string;
  readonly issues: readonly ConfigIssue[];

  constructor(file: string, issues: ConfigIssue[], cause?: unknown) {
    const sorted = [...issues].sort((a, b) => a.line - b.line || a.column - b.column);
    const first = sorted[0] ?? { path: '', line: 1, column: 1, message: 'invalid configuration' };
    super('CONFIG_INVALID', formatIssue(file, first), { temporary: false, hint: first.hint, cause });
    this.file = file;
    this.line = first.line;
    this.column = first.column;
    this.path = first.path;
    this.issues = sorted;
  }

  /** All problems, one per line, each with its hint: for `postbote check` and startup failures. */
  describeAll(): string {
    return this.issues
      .map((issue) => formatIssue(this.file, issue) + (issue.hint ? ` - ${issue.hint}` : ''))
      .join('\n');
  }

  /**
   * What the CLI prints: every problem (up to MAX_LISTED_ISSUES), so one round of editing fixes them
   * all instead of one per run.
   */
  override describe(): string {
    const shown = this.issues.slice(0, MAX_LISTED_ISSUES);
    const lines = shown.map(
      (issue) => formatIssue(this.file, issue) + (issue.hint ? ` - ${issue.hint}` : ''),
    );
    const more = this.issues.length - shown.length;
    if (more > 0) lines.push(`… and ${more} more ${more === 1 ? 'problem' : 'problems'}: fix these first`);
    return lines.length > 0 ? lines.join('\n') : super.describe();
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), file: this.file, issues: this.issues };
  }
}

export function formatIssue(file: string, issue: ConfigIssue): string {
  const path = issue.path ? `${issue.path}: ` : '';
  return `${file}:${issue.line}:${issue.column}: ${path}${issue.message}`;
}

/** `mailboxes[1].catchAll.aliases["*@example.org"]` from ['mailboxes', 1, 'catchAll', …]. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(String(segment)))
      out += out ? `.${String(segment)}` : String(segment);
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

/** A value as the user wrote it, for "got …" in messages. */
export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return String(value);
}
