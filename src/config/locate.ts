// Maps a key path (['mailboxes', 1, 'port']) back to its line and column in the YAML source.
import { type Document, isMap, isPair, isScalar, isSeq, type LineCounter, type Node, type Pair } from 'yaml';

export interface Position {
  line: number;
  column: number;
}

/**
 * Where to point for a path: `value` for a bad value, `key` for an unknown key. When the path does not
 * exist (a missing key), the deepest existing ancestor is used: the key that introduces it (`target:`)
 * or, for a list item, the item's first line.
 */
export function locate(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
  at: 'key' | 'value' = 'value',
): Position {
  let node: unknown = doc.contents;
  let anchor: number | undefined = rangeStart(node);
  for (let i = 0; i < path.length; i++) {
    const segment = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p: Pair) => keyText(p) === String(segment));
      if (!pair) break;
      const keyStart = rangeStart(pair.key);
      if (last && at === 'key') return position(lineCounter, keyStart ?? anchor);
      node = pair.value;
      // An empty value (`target:`) has no text of its own: point at its key.
      anchor = (last && !isEmpty(node) ? rangeStart(node) : undefined) ?? keyStart ?? anchor;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      if (item === undefined) break;
      node = item;
      anchor = rangeStart(item) ?? anchor;
    } else {
      break;
    }
  }
  return position(lineCounter, anchor);
}

function keyText(pair: Pair): string | undefined {
  if (isScalar(pair.key)) return String(pair.key.value);
  return isPair(pair) && typeof pair.key === 'string' ? pair.key : undefined;
}

function isEmpty(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}

export function position(lineCounter: LineCounter, offset: number | undefined): Position {
  if (offset === undefined) return { line: 1, column: 1 };
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}
