// Multi-line replies read whole into memory (CAPA, UIDL, LIST, TOP), each under a byte cap and, for a
// listing, an entry cap; a reply that overflows fails with the limit it broke.
import { PostboteError } from '../errors.js';
import { BodyCollector } from './body-sinks.js';
import type { Pop3Connection } from './connection.js';
import { MAX_LISTING_BYTES, MAX_LISTING_ENTRIES } from './options.js';
import type { Pop3Reply } from './reply.js';

export type MultiResult = { reply: Pop3Reply; body?: Buffer };

/** What a buffered multi-line reply may hold; a listing's overflow is the server's fault, named so. */
export interface MultiLimits {
  bytes: number;
  lines?: number;
  listing?: boolean;
}

/** The session's side of these commands: its connection, name in errors, status timeout, longest line. */
export interface BufferedContext {
  conn: Pop3Connection;
  where: string;
  timeout: number;
  maxLine: number;
}

// A listing (UIDL, LIST) has one short line per message: bounded by entries and by bytes, so an
// endless one fails instead of growing memory without limit.
const LISTING_LIMITS: MultiLimits = { bytes: MAX_LISTING_BYTES, lines: MAX_LISTING_ENTRIES, listing: true };

/** Multi-line commands, buffered, written in one batch. A body is undefined when its reply was -ERR. */
export function multiMany(
  ctx: BufferedContext,
  lines: string[],
  limits: MultiLimits,
): Promise<MultiResult[]> {
  const maxLine = ctx.maxLine;
  const collectors = lines.map(
    (line) =>
      new BodyCollector(
        limits.bytes,
        maxLine,
        (what) => overflowError(ctx.where, line, what, limits, maxLine),
        limits.lines,
      ),
  );
  const replies = ctx.conn.send(
    lines.map((line, i) => ({ line, body: collectors[i]!, timeout: ctx.timeout })),
  );
  return Promise.all(
    replies.map(async (pending, i) => {
      const reply = await pending;
      return reply.status === '+OK' ? { reply, body: await collectors[i]!.result() } : { reply };
    }),
  );
}

export async function multi(ctx: BufferedContext, line: string, limits: MultiLimits): Promise<MultiResult> {
  return (await multiMany(ctx, [line], limits))[0]!;
}

/** UIDL and LIST, bounded (LISTING_LIMITS); a listing that fails takes the connection with it. */
export async function readListings(
  ctx: BufferedContext,
  pipelined: boolean,
): Promise<[MultiResult, MultiResult]> {
  try {
    if (pipelined) {
      return (await multiMany(ctx, ['UIDL', 'LIST'], LISTING_LIMITS)) as [MultiResult, MultiResult];
    }
    return [await multi(ctx, 'UIDL', LISTING_LIMITS), await multi(ctx, 'LIST', LISTING_LIMITS)];
  } catch (err) {
    // An overflowing listing would otherwise be drained to its end, which may never come.
    ctx.conn.fail(err as PostboteError);
    throw err;
  }
}

function overflowError(
  where: string,
  line: string,
  what: 'line' | 'body' | 'lines',
  limits: MultiLimits,
  maxLine: number,
): PostboteError {
  if (what === 'line') {
    return new PostboteError('LINE_TOO_LONG', `a line of the reply to ${line} exceeds ${maxLine} octets`, {
      temporary: true,
      where,
      command: line,
    });
  }
  if (!limits.listing) {
    return new PostboteError('MESSAGE_TOO_LARGE', `the reply to ${line} exceeds ${limits.bytes} octets`, {
      temporary: false,
      where,
      command: line,
    });
  }
  const limit = what === 'lines' ? `${limits.lines} entries` : `${limits.bytes} octets`;
  return new PostboteError(
    'POP3_LISTING_TOO_LARGE',
    `the server's ${line} listing exceeds ${limit}: the server is broken or hostile (no mailbox holds that many messages)`,
    {
      temporary: true,
      where,
      command: line,
      hint: 'ask the provider to check the mailbox; Postbote stops reading the listing to protect its memory',
    },
  );
}
