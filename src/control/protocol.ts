// The control socket's wire format, pure (no sockets): line-delimited JSON, one request line from the
// client, then output and a final exit code from the service. Output travels as base64 so that
// `queue export` can carry a message's 8-bit bytes unchanged.

/**
 * A request is a command line's options: a few hundred bytes. 64 KiB leaves room for long mailbox
 * lists and still bounds what a hostile local client can make the service buffer.
 */
export const MAX_REQUEST_LINE = 64 * 1024;
/** A reply line carries at most MAX_OUTPUT_CHUNK bytes of output (base64: 4/3) plus a few fields. */
export const MAX_REPLY_LINE = 1024 * 1024;
/** Output is cut into pieces this large, so one `queue export` of a 50 MB message is many small lines. */
export const MAX_OUTPUT_CHUNK = 256 * 1024;
/** Bumped on an incompatible change: a client and a service of different versions refuse each other. */
export const PROTOCOL_VERSION = 1;

/** What the service can be asked; anything else is refused before a handler is looked up. */
export const OPS = ['fetch', 'route', 'queue', 'backup', 'ping'] as const;
export type Op = (typeof OPS)[number];

export interface ControlRequest {
  v: number;
  op: Op;
  /** The command's options, checked by the op's handler. */
  args: Record<string, unknown>;
  /** The OS user who runs the client, for the log of admin actions. */
  user: string;
  /** Whether the client's stderr is a terminal (progress is drawn only then). */
  interactive: boolean;
}

/** o/e: output for stdout/stderr (base64); w: still working (keeps the client's idle timer quiet); x: done. */
export type ControlReply = { t: 'o' | 'e'; d: string } | { t: 'w' } | { t: 'x'; code: number };

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export function parseRequest(line: string): Parsed<ControlRequest> {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { ok: false, error: 'not an object' };
  const r = raw as Record<string, unknown>;
  if (r.v !== PROTOCOL_VERSION)
    return { ok: false, error: `protocol version ${String(r.v)}, this service speaks ${PROTOCOL_VERSION}` };
  if (typeof r.op !== 'string' || !(OPS as readonly string[]).includes(r.op))
    return { ok: false, error: `unknown op ${JSON.stringify(r.op)?.slice(0, 40)}` };
  const args = r.args ?? {};
  if (typeof args !== 'object' || args === null || Array.isArray(args))
    return { ok: false, error: 'args must be an object' };
  if (typeof r.user !== 'string' || r.user.length === 0 || r.user.length > 64)
    return { ok: false, error: 'user must be a name of 1 to 64 characters' };
  return {
    ok: true,
    value: {
      v: PROTOCOL_VERSION,
      op: r.op as Op,
      args: args as Record<string, unknown>,
      user: r.user,
      interactive: r.interactive === true,
    },
  };
}

export function parseReply(line: string): Parsed<ControlReply> {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  const r = raw as Record<string, unknown> | null;
  if (r && (r.t === 'o' || r.t === 'e') && typeof r.d === 'string')
    return { ok: true, value: { t: r.t, d: r.d } };
  if (r && r.t === 'w') return { ok: true, value: { t: 'w' } };
  if (r && r.t === 'x' && Number.isInteger(r.code) && (r.code as number) >= 0 && (r.code as number) < 256)
    return { ok: true, value: { t: 'x', code: r.code as number } };
  return { ok: false, error: 'not a reply' };
}

/** Output as reply lines, cut into MAX_OUTPUT_CHUNK pieces. */
export function outputLines(stream: 'o' | 'e', data: string | Buffer): string[] {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const lines: string[] = [];
  for (let i = 0; i < buf.length; i += MAX_OUTPUT_CHUNK) {
    const d = buf.subarray(i, i + MAX_OUTPUT_CHUNK).toString('base64');
    lines.push(`${JSON.stringify({ t: stream, d })}\n`);
  }
  return lines;
}

/**
 * Splits a byte stream into lines without holding more than `max` bytes of an unfinished one: a peer
 * that never sends a newline is told apart from a slow one (push returns 'too-long').
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly max: number) {}

  push(chunk: Buffer): string[] | 'too-long' {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      if (this.pendingBytes + nl - start > this.max) return 'too-long';
      this.pending.push(chunk.subarray(start, nl));
      lines.push(Buffer.concat(this.pending).toString('utf8').replace(/\r$/, ''));
      this.pending = [];
      this.pendingBytes = 0;
      start = nl + 1;
    }
    const rest = chunk.length - start;
    if (this.pendingBytes + rest > this.max) return 'too-long';
    if (rest > 0) {
      this.pending.push(chunk.subarray(start));
      this.pendingBytes += rest;
    }
    return lines;
  }
}
