// Applies a verdict's header edits while the spool file streams to the target: fields a sender may
// have forged are dropped and the Subject gets its prefix; the body passes untouched. Only one header
// field is held at a time, so memory stays bounded whatever the message's size.
import { Transform, type TransformCallback } from 'node:stream';
import type { HeaderEdits } from './types.js';

/**
 * A field longer than this is passed on (or dropped) in pieces instead of held: 64 KiB is far above
 * any real header field (RFC 5322 lines are at most 998 octets, folded fields rarely reach 10 KiB).
 */
const MAX_HELD_FIELD = 64 * 1024;

export function headerRewriter(edits: HeaderEdits): Transform {
  const remove = new Set(edits.remove.map((n) => n.toLowerCase()));
  let inHeader = true;
  /** Bytes of the current line not yet ended by LF. */
  let partial = Buffer.alloc(0);
  /** The current field (its first line and continuations), held until we know it ends. */
  let field: Buffer[] = [];
  let fieldBytes = 0;
  /** Set once a held field outgrew MAX_HELD_FIELD: its fate is decided, the rest streams. */
  let streaming: 'keep' | 'drop' | undefined;
  let subjectDone = false;
  /** A line longer than the bound was cut: its rest belongs to the field being streamed. */
  let midLine = false;

  const fieldName = (first: Buffer) => {
    const colon = first.indexOf(0x3a);
    return colon > 0 ? first.subarray(0, colon).toString('latin1').trim().toLowerCase() : '';
  };
  const decide = (first: Buffer): 'keep' | 'drop' => (remove.has(fieldName(first)) ? 'drop' : 'keep');

  function flushField(out: Transform) {
    if (field.length === 0) return;
    const first = field[0] as Buffer;
    if (streaming === undefined) {
      if (decide(first) === 'keep') {
        if (edits.subjectPrefix && !subjectDone && fieldName(first) === 'subject') {
          subjectDone = true;
          const colon = first.indexOf(0x3a);
          // "Subject: x" → "Subject: [SPAM] x": the prefix goes after the colon's single space.
          const at = first[colon + 1] === 0x20 ? colon + 2 : colon + 1;
          const prefix = Buffer.from(edits.subjectPrefix, 'utf8');
          out.push(first.subarray(0, at));
          // A reply to tagged mail already carries the prefix: not "[SPAM] [SPAM] …".
          if (!first.subarray(at, at + prefix.length).equals(prefix)) out.push(prefix);
          out.push(first.subarray(at));
          for (const b of field.slice(1)) out.push(b);
        } else for (const b of field) out.push(b);
      }
    }
    field = [];
    fieldBytes = 0;
    streaming = undefined;
  }

  function line(out: Transform, l: Buffer) {
    const isContinuation = l.length > 0 && (l[0] === 0x20 || l[0] === 0x09);
    const isEnd = l.length === 1 ? l[0] === 0x0a : l.length === 2 && l[0] === 0x0d && l[1] === 0x0a;
    if (isContinuation && (field.length > 0 || streaming)) {
      if (streaming === 'keep') out.push(l);
      else if (streaming === undefined) add(out, l);
      return;
    }
    flushField(out);
    if (isEnd) {
      if (edits.subjectPrefix && !subjectDone) subjectDone = true; // no Subject: none is invented
      inHeader = false;
      out.push(l);
      return;
    }
    add(out, l);
  }

  function add(out: Transform, l: Buffer) {
    field.push(l);
    fieldBytes += l.length;
    if (fieldBytes > MAX_HELD_FIELD) {
      const first = field[0] as Buffer;
      const fate = decide(first);
      if (fate === 'keep') for (const b of field) out.push(b);
      field = [];
      fieldBytes = 0;
      streaming = fate;
    }
  }

  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      if (!inHeader) return cb(null, chunk);
      let data = partial.length > 0 ? Buffer.concat([partial, chunk]) : chunk;
      partial = Buffer.alloc(0);
      while (inHeader) {
        const lf = data.indexOf(0x0a);
        if (midLine) {
          const piece = lf === -1 ? data : data.subarray(0, lf + 1);
          if (streaming === 'keep') this.push(piece);
          if (lf === -1) return cb();
          midLine = false;
          data = data.subarray(lf + 1);
          continue;
        }
        if (lf === -1) {
          // A line without its end yet: held, but never more than the field bound.
          if (data.length > MAX_HELD_FIELD) {
            const continuation = data[0] === 0x20 || data[0] === 0x09;
            if (continuation && streaming !== undefined) {
              if (streaming === 'keep') this.push(data);
            } else {
              if (!continuation) flushField(this);
              add(this, data); // over the bound: the field's fate is decided now
            }
            midLine = true;
            data = Buffer.alloc(0);
          }
          partial = Buffer.from(data);
          return cb();
        }
        line(this, data.subarray(0, lf + 1));
        data = data.subarray(lf + 1);
      }
      if (data.length > 0) this.push(data);
      cb();
    },
    flush(cb: TransformCallback) {
      // A message that is all header (no blank line): what is held goes out as it came.
      if (inHeader) {
        if (partial.length > 0) add(this, partial);
        flushField(this);
      }
      cb();
    },
  });
}
