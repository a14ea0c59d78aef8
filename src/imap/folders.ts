// Which folders a pass reads: the configured names, and for a wildcard every selectable folder the
// server lists except the excluded ones (by special-use flag like \Sent, or by name) and the folder
// delivered mail is moved to (reading it would fetch every archived message again).

/** What the session needs of one LIST entry. */
export interface ListedFolder {
  path: string;
  delimiter: string;
  flags: ReadonlySet<string>;
  specialUse?: string;
}

export interface FolderChoice {
  folders: string[];
  /** Configured folder names (not patterns) the server does not list. */
  missing: string[];
}

/** Sent, Trash, Junk and Drafts hold no incoming mail; what the user wants fetched is elsewhere. */
export const DEFAULT_EXCLUDE = ['\\Sent', '\\Trash', '\\Junk', '\\Drafts'] as const;

const isPattern = (s: string) => s.includes('*') || s.includes('%');
const isFlag = (s: string) => s.startsWith('\\');
/** RFC 3501 5.1: INBOX is case-insensitive, every other name is exact. */
const sameName = (a: string, b: string) =>
  a === b || (a.toUpperCase() === 'INBOX' && b.toUpperCase() === 'INBOX');

/** RFC 3501 LIST wildcards: `*` matches anything, `%` anything but the hierarchy delimiter. */
export function patternMatches(pattern: string, path: string, delimiter: string): boolean {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const notDelim = delimiter ? `[^${esc(delimiter)}]*` : '.*';
  const source = [...pattern].map((c) => (c === '*' ? '.*' : c === '%' ? notDelim : esc(c))).join('');
  return (
    new RegExp(`^${source}$`, 'su').test(path) ||
    (pattern.toUpperCase() === 'INBOX' && sameName(pattern, path))
  );
}

function excluded(f: ListedFolder, exclude: readonly string[]): boolean {
  return exclude.some((e) =>
    isFlag(e)
      ? f.specialUse?.toLowerCase() === e.toLowerCase() ||
        [...f.flags].some((x) => x.toLowerCase() === e.toLowerCase())
      : isPattern(e)
        ? patternMatches(e, f.path, f.delimiter)
        : sameName(e, f.path),
  );
}

const selectable = (f: ListedFolder) => ![...f.flags].some((x) => /^\\(noselect|nonexistent)$/i.test(x));

/** `moveTo`: the names the move target may have (as written, and under the personal namespace prefix). */
export function chooseFolders(
  listed: readonly ListedFolder[],
  wanted: readonly string[],
  exclude: readonly string[],
  moveTo: readonly string[] = [],
): FolderChoice {
  const folders: string[] = [];
  const missing: string[] = [];
  const add = (path: string) => {
    if (!folders.some((p) => sameName(p, path))) folders.push(path);
  };
  for (const w of wanted) {
    if (!isPattern(w)) {
      const found = listed.find((f) => sameName(w, f.path));
      if (found && selectable(found)) add(found.path);
      else missing.push(w);
      continue;
    }
    for (const f of listed) {
      if (!patternMatches(w, f.path, f.delimiter) || !selectable(f)) continue;
      if (excluded(f, exclude) || moveTo.some((name) => sameName(name, f.path))) continue;
      add(f.path);
    }
  }
  return { folders, missing };
}
