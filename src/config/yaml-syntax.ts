// YAML syntax errors as ConfigIssues. The yaml library reports a line indented too deep at the end of
// the line *above* it (the value it tries to continue); people look for the line they mistyped, so an
// indentation mistake is pointed at the line that has it, with the column it should start at.
import type { LineCounter, YAMLError } from 'yaml';
import type { ConfigIssue } from './config-error.js';
import { position } from './locate.js';

// The library's codes for structure that does not line up; others (quoting, duplicate keys) are kept as they are.
const INDENT_CODES = new Set([
  'BAD_INDENT',
  'MISSING_CHAR',
  'BLOCK_AS_IMPLICIT_KEY',
  'MULTILINE_IMPLICIT_KEY',
]);

const GENERIC_HINT =
  'check the indentation and quoting near this line (values with ": " or " #" need quotes)';

/** One issue per line with a syntax error, the first the library reported there. */
export function yamlSyntaxIssues(
  text: string,
  errors: readonly YAMLError[],
  lineCounter: LineCounter,
): ConfigIssue[] {
  const lines = text.split(/\r?\n/);
  const byLine = new Map<number, ConfigIssue>();
  for (const error of errors) {
    const at = position(lineCounter, error.pos[0]);
    const issue = (INDENT_CODES.has(error.code) && misindented(lines, at.line)) || {
      path: '',
      ...at,
      message: `YAML syntax: ${error.message.split('\n')[0]}`,
      hint: GENERIC_HINT,
    };
    if (!byLine.has(issue.line)) byLine.set(issue.line, issue);
  }
  return [...byLine.values()];
}

/**
 * The line near `line` (1-based) whose indentation does not fit, or undefined when the indentation
 * there looks right (then the error is about something else, such as an unquoted ": ").
 */
function misindented(lines: readonly string[], line: number): ConfigIssue | undefined {
  const here = line - 1;
  if (isItem(lines[here]!)) {
    // A list item lines up with the item before it, whatever the lines between hold.
    const sibling = previousItem(lines, here);
    if (sibling !== undefined && indent(lines[sibling]!) !== indent(lines[here]!)) {
      return issueFor(lines, here, indent(lines[sibling]!), sibling);
    }
  }
  const previous = previousContent(lines, here);
  if (previous !== undefined && indent(lines[here]!) !== keyColumn(lines[previous]!)) {
    return issueFor(lines, here, keyColumn(lines[previous]!), previous);
  }
  // "user: info@example.com" followed by a deeper line: that line is the mistake (a key with a value
  // cannot have keys under it).
  const next = nextContent(lines, here);
  if (next !== undefined && hasInlineValue(lines[here]!) && indent(lines[next]!) > indent(lines[here]!)) {
    return issueFor(lines, next, keyColumn(lines[here]!), here);
  }
  return undefined;
}

function issueFor(lines: readonly string[], index: number, expected: number, neighbour: number): ConfigIssue {
  const item = isItem(lines[index]!) && isItem(lines[neighbour]!);
  const key = keyOf(lines[index]!);
  const other = keyOf(lines[neighbour]!);
  const subject = item ? 'this list item' : key ? `${key}:` : 'this line';
  const ref = item ? `the item on line ${neighbour + 1}` : other ? `${other}: above` : 'the line above';
  const deeper = indent(lines[index]!) > expected;
  return {
    path: '',
    line: index + 1,
    // The start of the line: the mistake is in the spaces before the key.
    column: 1,
    message: `YAML syntax: ${subject} is indented ${deeper ? 'deeper' : 'less'} than ${ref}`,
    hint: `indent it by ${expected} spaces like ${ref} (YAML nests by indentation; use spaces, not tabs)`,
  };
}

function indent(line: string): number {
  return line.length - line.trimStart().length;
}

/** Where a line's key starts: after a list item's "- ". */
function keyColumn(line: string): number {
  const m = /^(\s*)((?:-\s+)*)/.exec(line)!;
  return m[1]!.length + m[2]!.length;
}

function keyOf(line: string): string | undefined {
  return /^\s*(?:-\s+)*([^\s:#][^:#]*?):(?:\s|$)/.exec(line)?.[1];
}

/** "key: value" with a value on the same line (not "key:" opening a block, not a comment). */
function hasInlineValue(line: string): boolean {
  return /^\s*(?:-\s+)*[^\s:#][^:#]*?:\s+[^\s#]/.test(line);
}

function isItem(line: string): boolean {
  return /^\s*-(?:\s|$)/.test(line);
}

function previousItem(lines: readonly string[], from: number): number | undefined {
  for (let i = from - 1; i >= 0; i--)
    if (isItem(lines[i]!) && indent(lines[i]!) <= indent(lines[from]!) + 1) return i;
  return undefined;
}

function isContent(line: string): boolean {
  const t = line.trim();
  return t !== '' && !t.startsWith('#');
}

function nextContent(lines: readonly string[], from: number): number | undefined {
  for (let i = from + 1; i < lines.length; i++) if (isContent(lines[i]!)) return i;
  return undefined;
}

function previousContent(lines: readonly string[], from: number): number | undefined {
  for (let i = from - 1; i >= 0; i--) if (isContent(lines[i]!)) return i;
  return undefined;
}
