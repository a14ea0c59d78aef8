// Attachment file names of a stored message, for routing rules: read from the headers of its MIME
// parts only (mailsplit splits the stream; a body line that looks like a header is never one), with
// the Content-Disposition filename and the Content-Type name in their RFC 2231 and RFC 2047 forms.
import { once } from 'node:events';
import { PassThrough, type Readable, Transform, type TransformCallback } from 'node:stream';
import type { MimeNode, Splitter, SplitterChunk } from '@zone-eu/mailsplit';
import { decodeBytes, decodeEncodedWords } from './encoded-word.js';
import { firstHeader, parseHeaders } from './headers.js';

/** Parts read at most, forwarded messages included: real mail has tens; a rule needs no more. */
export const MAX_PARTS = 1000;
/** Names returned at most (two per part possible, mostly the same one). */
const MAX_NAMES = 1000;
/**
 * One part's header block at most: real part headers are a few hundred bytes; this bounds memory for
 * hostile ones (the splitter holds a part's header until its blank line).
 */
const MAX_PART_HEADER_BYTES = 64 * 1024;
/** Forwarded messages inside forwarded messages are followed this deep. */
const MAX_DEPTH = 4;

const PLAIN_ENCODINGS = new Set(['', '7bit', '8bit', 'binary']);

/**
 * The distinct file names of every part. A message over a bound (parts, header size) gives the names
 * found up to there, and the rest of it is not read.
 */
export async function attachmentNames(source: Readable): Promise<string[]> {
  const names = new Set<string>();
  const budget = { parts: MAX_PARTS };
  // The source may fail (a missing spool file) while mailsplit loads: heard here, not uncaught.
  let early: Error | undefined;
  const hold = (err: Error) => {
    early ??= err;
  };
  source.on('error', hold);
  try {
    const Split = await loadSplitter();
    source.off('error', hold);
    if (early) throw early;
    await scan(Split, source, names, budget, 0);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EMAXLEN') throw err; // over a bound: what was found so far
  } finally {
    source.destroy();
  }
  return [...names].slice(0, MAX_NAMES);
}

let splitterClass: Promise<typeof Splitter> | undefined;

/**
 * mailsplit, loaded on first use: only rules on attachment names read them, and mailsplit with its
 * MIME and charset tables was a sixth of `postbote fetch`'s start-up CPU (about 50 ms of 300).
 */
function loadSplitter(): Promise<typeof Splitter> {
  splitterClass ??= import('@zone-eu/mailsplit').then((m) => m.Splitter);
  return splitterClass;
}

async function scan(
  Split: typeof Splitter,
  input: Readable,
  names: Set<string>,
  budget: { parts: number },
  depth: number,
): Promise<void> {
  const splitter = new Split({
    maxHeadSize: MAX_PART_HEADER_BYTES,
    maxChildNodes: Math.max(1, budget.parts + 1),
  });
  const lines = new LineAligned();
  input.on('error', (err) => splitter.destroy(err));
  lines.on('error', (err) => splitter.destroy(err));
  input.pipe(lines).pipe(splitter);
  // An attached (not inline) message/rfc822 part is body to mailsplit: its parts are scanned by a
  // splitter of their own, fed with that part's body as it streams by.
  let inner: { node: MimeNode; body: PassThrough; done: Promise<void> } | undefined;
  const closeInner = async () => {
    if (!inner) return;
    const { body, done } = inner;
    inner = undefined;
    body.end();
    await done;
  };
  try {
    for await (const item of splitter as AsyncIterable<SplitterChunk>) {
      if (item.type === 'node') {
        await closeInner();
        if (--budget.parts < 0) throw Object.assign(new Error('too many parts'), { code: 'EMAXLEN' });
        const headers = parseHeaders(item.getHeaders());
        for (const field of ['content-disposition', 'content-type']) {
          const value = firstHeader(headers, field);
          if (value !== undefined) for (const n of namesIn(value)) names.add(n);
        }
        if (names.size >= MAX_NAMES) throw Object.assign(new Error('too many names'), { code: 'EMAXLEN' });
        if (
          item.contentType === 'message/rfc822' &&
          !item.messageNode &&
          PLAIN_ENCODINGS.has(item.encoding || '') &&
          depth < MAX_DEPTH
        ) {
          const body = new PassThrough();
          const done = scan(Split, body, names, budget, depth + 1);
          done.catch(() => undefined); // awaited in closeInner(); an early failure is not unhandled
          inner = { node: item, body, done };
        }
      } else if (item.type === 'body' && inner && item.node === inner.node) {
        if (!inner.body.write(item.value)) await once(inner.body, 'drain');
      }
    }
    await closeInner();
  } finally {
    input.unpipe(lines);
    lines.destroy();
    splitter.destroy();
    // A forwarded message's scan that stopped early (over a bound) drops the rest of its body, so the
    // scan feeding it is never left waiting for a 'drain'.
    if (depth > 0) input.resume();
  }
}

/**
 * Hands mailsplit whole lines: it loses bytes when a chunk ends between the CR and the LF before a
 * boundary (a boundary then goes unseen and later parts are taken for body), and chunks from the
 * network or the spool end anywhere. A line longer than MAX_LINE_PIECE is passed on in pieces, never
 * cut after a CR; such a line is body text, never a boundary or a header a part needs.
 */
const MAX_LINE_PIECE = 64 * 1024;

class LineAligned extends Transform {
  private rest: Buffer | undefined;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const data = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = undefined;
    let cut = data.lastIndexOf(0x0a) + 1;
    if (cut === 0 && data.length > MAX_LINE_PIECE)
      cut = data[data.length - 1] === 0x0d ? data.length - 1 : data.length;
    if (cut > 0) this.push(data.subarray(0, cut));
    if (cut < data.length) this.rest = data.subarray(cut);
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.rest) this.push(this.rest);
    done();
  }
}

/** filename= / name= parameters of one Content-Disposition or Content-Type value (or whole field). */
export function namesIn(field: string): string[] {
  const out: string[] = [];
  // RFC 2231 pieces by parameter: `filename*0*=`, `filename*1=`; `filename*=` is piece 0 alone.
  const pieces = new Map<string, Map<number, { text: string; extended: boolean }>>();
  for (const { name, value } of parameters(field)) {
    const m = /^(filename|name)(?:\*(\d+))?(\*)?$/.exec(name);
    if (!m) continue;
    if (m[2] === undefined && m[3] === undefined) {
      out.push(decodeEncodedWords(value));
      continue;
    }
    const key = m[1]!;
    const parts = pieces.get(key) ?? new Map<number, { text: string; extended: boolean }>();
    parts.set(Number(m[2] ?? 0), { text: value, extended: m[3] !== undefined });
    pieces.set(key, parts);
  }
  for (const parts of pieces.values()) out.push(joinPieces(parts));
  return [...new Set(out.filter((n) => n !== ''))];
}

/** Parameters after the first `;` (outside quotes): names lower-cased, quoted values unescaped. */
function parameters(field: string): Array<{ name: string; value: string }> {
  const out: Array<{ name: string; value: string }> = [];
  let i = 0;
  const skipValue = () => {
    // The media type or disposition: up to the first `;` outside quotes.
    let quoted = false;
    for (; i < field.length; i++) {
      const c = field[i];
      if (c === '\\' && quoted) i++;
      else if (c === '"') quoted = !quoted;
      else if (c === ';' && !quoted) return;
    }
  };
  skipValue();
  while (i < field.length) {
    i++; // the ';'
    const eq = field.indexOf('=', i);
    const semi = field.indexOf(';', i);
    if (eq < 0 || (semi >= 0 && semi < eq)) {
      if (semi < 0) break;
      i = semi;
      continue;
    }
    const name = field.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    while (field[i] === ' ' || field[i] === '\t') i++;
    let value = '';
    if (field[i] === '"') {
      for (i++; i < field.length && field[i] !== '"'; i++) {
        if (field[i] === '\\' && i + 1 < field.length) i++;
        value += field[i];
      }
      i++;
      skipValue();
    } else {
      const start = i;
      skipValue();
      value = field.slice(start, i).trim();
    }
    out.push({ name, value });
  }
  return out;
}

/** RFC 2231: pieces in number order, percent-decoded when extended, then the first piece's charset. */
function joinPieces(parts: Map<number, { text: string; extended: boolean }>): string {
  const ordered = [...parts.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
  let charset = 'utf-8';
  const bytes: Buffer[] = [];
  ordered.forEach((p, n) => {
    let text = p.text;
    if (n === 0 && p.extended) {
      const m = /^([^']*)'[^']*'(.*)$/s.exec(text);
      if (m) {
        charset = m[1] || 'utf-8';
        text = m[2]!;
      }
    }
    bytes.push(p.extended ? percentDecode(text) : Buffer.from(text, 'utf8'));
  });
  return decodeBytes(Buffer.concat(bytes), charset);
}

function percentDecode(text: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      out.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(...Buffer.from(text[i]!, 'utf8'));
  }
  return Buffer.from(out);
}
