// Attachment file names of a stored message, for routing rules: read from the MIME part headers
// (Content-Disposition filename, Content-Type name; RFC 2231 and RFC 2047 forms) while streaming.
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { decodeEncodedWords } from './encoded-word.js';

// A message with more parts than this is not mail a rule needs to look into any further.
const MAX_NAMES = 1000;

export async function attachmentNames(source: Readable): Promise<string[]> {
  const names = new Set<string>();
  const lines = createInterface({ input: source, crlfDelay: Number.POSITIVE_INFINITY });
  let field: string | undefined;
  const finish = () => {
    if (field !== undefined) for (const n of namesIn(field)) names.add(n);
    field = undefined;
  };
  for await (const line of lines) {
    if (field !== undefined && /^[ \t]/.test(line)) {
      field += ` ${line.trim()}`;
      continue;
    }
    finish();
    if (/^content-(disposition|type)\s*:/i.test(line)) field = line;
    if (names.size >= MAX_NAMES) break;
  }
  finish();
  source.destroy();
  return [...names];
}

/** filename= / name= parameters of one Content-Disposition or Content-Type field. */
export function namesIn(field: string): string[] {
  const out: string[] = [];
  const continued = new Map<string, Map<number, string>>();
  for (const m of field.matchAll(/;\s*((?:file)?name)(\*\d+)?(\*)?\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]+)/gi)) {
    const key = m[1]!.toLowerCase();
    let value = m[4]!.startsWith('"') ? m[4]!.slice(1, -1).replace(/\\(.)/g, '$1') : m[4]!;
    if (m[3]) value = decode2231(value);
    if (m[2]) {
      const parts = continued.get(key) ?? new Map<number, string>();
      parts.set(Number(m[2].slice(1)), value);
      continued.set(key, parts);
    } else out.push(decodeEncodedWords(value));
  }
  for (const parts of continued.values()) {
    out.push(
      [...parts.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([, v]) => v)
        .join(''),
    );
  }
  return [...new Set(out.filter((n) => n !== ''))];
}

/** RFC 2231 `charset'lang'percent-encoded`; continuations after the first carry no charset. */
function decode2231(value: string): string {
  const m = /^([^']*)'[^']*'(.*)$/.exec(value);
  const charset = m ? m[1]! || 'utf-8' : 'utf-8';
  const data = m ? m[2]! : value;
  const bytes = Buffer.from(
    data.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
    'latin1',
  );
  try {
    return new TextDecoder(charset.toLowerCase()).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}
