// One mail transaction: MAIL, RCPT…, DATA (pipelined per RFC 2920 when offered), the dot-stuffed
// body with backpressure, and the final reply (one for SMTP, one per accepted recipient for LMTP).
import type { Readable } from 'node:stream';
import { isPostboteError, PostboteError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Channel } from './channel.js';
import { DotStuffing } from './dot-stuff.js';
import type { Timeouts } from './handshake.js';
import { replyKind } from './refusal.js';
import {
  authRequiredError,
  lostReply,
  mailCommand,
  rcptCommand,
  validateEnvelope,
} from './transaction-parts.js';
import type { Envelope, RecipientReply, SendResult, SmtpReply } from './types.js';

export interface TransactionContext {
  channel: Channel;
  extensions: ReadonlyMap<string, string>;
  lmtp: boolean;
  /** Whether AUTH was done: a 530 to MAIL then is not "configure auth". */
  authenticated: boolean;
  timeouts: Timeouts;
  log: Logger;
}

/** With `body` null this is a probe: MAIL and RCPT, then RSET, no DATA. */
export async function runTransaction(
  ctx: TransactionContext,
  envelope: Envelope,
  body: Readable | null,
): Promise<SendResult> {
  const { channel: ch, timeouts } = ctx;
  validateEnvelope(envelope, ch.where);
  const mail = mailCommand(envelope, ctx.extensions);
  const rcpts = envelope.to.map(rcptCommand);
  const withData = body !== null;
  let mailReply: SmtpReply;
  const rcptReplies: SmtpReply[] = [];
  let dataReply: SmtpReply | undefined;

  if (ctx.extensions.has('PIPELINING')) {
    // RFC 2920 3.1: DATA may close a group; the replies come back in order.
    ch.send(withData ? [mail, ...rcpts, 'DATA'] : [mail, ...rcpts]);
    mailReply = await ch.readOpen(timeouts.command, mail);
    for (const rcpt of rcpts) rcptReplies.push(await ch.readOpen(timeouts.command, rcpt));
    if (withData) dataReply = await ch.readOpen(timeouts.command, 'DATA');
  } else {
    mailReply = await ch.command(mail, timeouts.command);
    if (isOk(mailReply)) {
      for (const rcpt of rcpts) rcptReplies.push(await ch.command(rcpt, timeouts.command));
      if (withData && rcptReplies.some(isOk)) dataReply = await ch.command('DATA', timeouts.command);
    }
  }

  const mailOk = isOk(mailReply);
  const accepted = mailOk ? envelope.to.flatMap((_, i) => (isOk(rcptReplies[i]!) ? [i] : [])) : [];
  const finals = new Map<number, SmtpReply>();
  let transactionOpen = true;
  if (dataReply?.code === 354 && accepted.length === 0) {
    // RFC 2920 3.1 says a server must refuse DATA when no RCPT succeeded; one that did not gets an
    // empty message ended at once, and that message is nobody's.
    ch.send(['.']);
    await ch.readOpen(timeouts.dataEnd, 'end of data');
    transactionOpen = false;
  } else if (dataReply?.code === 354 && body) {
    try {
      await sendBody(ch, body, timeouts.command);
    } catch (err) {
      // A server that refuses the data while it comes (552 too big, then hang up) has said its final
      // word for every accepted recipient; only without such a reply is this a broken connection.
      const early = ch.takeQueued();
      if (!early || isOk(early)) throw err;
      ctx.log.debug({ err }, 'the server answered before the data was complete');
      for (const i of accepted) finals.set(i, early);
      return { recipients: results(envelope, mailReply, rcptReplies, finals) };
    }
    await readFinalReplies(ctx, accepted, finals);
    transactionOpen = false;
  } else if (dataReply) {
    for (const i of accepted) finals.set(i, dataReply);
  }

  if (withData ? transactionOpen : true) await reset(ctx);
  if (!mailOk && !ctx.authenticated && mailReply.code === 530) {
    throw authRequiredError(mailReply, mail, ch.where);
  }

  return { recipients: results(envelope, mailReply, rcptReplies, finals) };
}

/** Each recipient's final word, in envelope order (see SendResult). */
function results(
  envelope: Envelope,
  mailReply: SmtpReply,
  rcptReplies: SmtpReply[],
  finals: Map<number, SmtpReply>,
): RecipientReply[] {
  return envelope.to.map((address, i) => {
    if (!isOk(mailReply)) return { address, stage: 'MAIL', reply: mailReply };
    const rcpt = rcptReplies[i]!;
    const final = finals.get(i);
    if (!isOk(rcpt) || !final) return { address, stage: 'RCPT', reply: rcpt };
    return { address, stage: 'DATA', reply: final };
  });
}

function isOk(reply: SmtpReply): boolean {
  return replyKind(reply) === 'ok';
}

/** Streams the body through the dot-stuffer into the socket, waiting for 'drain' when it is full. */
/** Body bytes gathered before a write: a typical message in one segment, memory per session bounded. */
const BODY_WRITE_BATCH = 64 * 1024;

async function sendBody(ch: Channel, body: Readable, drainTimeoutMs: number): Promise<void> {
  try {
    // The Received header, the message and the final dot are separate pieces: gathered, a small
    // message goes out in one segment instead of one system call (and packet) per piece. A plain
    // loop rather than a stream pipeline: per message, that machinery cost more than the stuffing.
    const stuffing = new DotStuffing();
    let batch: Buffer[] = [];
    let batched = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (chunk.length === 0) continue;
      const out = stuffing.stuff(chunk);
      batch.push(out);
      batched += out.length;
      if (batched < BODY_WRITE_BATCH) continue;
      const more = ch.writeMany(batch);
      batch = [];
      batched = 0;
      if (!more) await ch.drained(drainTimeoutMs);
    }
    batch.push(stuffing.end());
    if (!ch.writeMany(batch)) await ch.drained(drainTimeoutMs);
  } catch (err) {
    if (ch.closed) throw ch.error ?? err;
    // The body failed (spool read error). DATA cannot be aborted once begun: anything sent now would
    // become part of the message, so the connection is dropped and the server discards the data.
    const failure = isPostboteError(err)
      ? err
      : new PostboteError('SMTP_DATA', `reading the message body failed: ${(err as Error).message}`, {
          temporary: true,
          where: ch.where,
          cause: err,
        });
    ch.fail(failure);
    throw failure;
  }
}

/**
 * SMTP: one reply for all accepted recipients. LMTP (RFC 2033 4.2): one per accepted recipient, in
 * RCPT order. When an LMTP connection breaks after some recipients were answered, those answers are
 * kept (they may be 250: delivered, and must not be delivered again) and the rest get a synthetic 4xx.
 */
async function readFinalReplies(ctx: TransactionContext, accepted: number[], finals: Map<number, SmtpReply>) {
  const { channel: ch, timeouts } = ctx;
  if (!ctx.lmtp) {
    const reply = await ch.readOpen(timeouts.dataEnd, 'end of data');
    for (const i of accepted) finals.set(i, reply);
    return;
  }
  for (const [n, i] of accepted.entries()) {
    let reply: SmtpReply;
    try {
      reply = await ch.read(timeouts.dataEnd, 'end of data');
    } catch (err) {
      if (n === 0) throw err;
      ctx.log.warn({ err }, `LMTP connection lost after ${n} of ${accepted.length} data replies`);
      for (const rest of accepted.slice(n)) finals.set(rest, lostReply(err));
      return;
    }
    if (reply.code === 421) {
      // The 421 answers this recipient and, as the server now closes, every one after it.
      for (const rest of accepted.slice(n)) finals.set(rest, reply);
      ch.fail(
        new PostboteError('CONNECTION_CLOSED', 'the server closes the connection (421)', {
          temporary: true,
          reply,
          where: ch.where,
        }),
      );
      return;
    }
    finals.set(i, reply);
  }
}

/** RSET so the next transaction starts clean; a connection that cannot reset is closed instead. */
async function reset(ctx: TransactionContext): Promise<void> {
  const ch = ctx.channel;
  if (ch.closed) return;
  try {
    const reply = await ch.command('RSET', ctx.timeouts.command);
    if (reply.code !== 250) ch.close();
  } catch (err) {
    ctx.log.debug({ err }, 'RSET failed; the connection is closed');
    ch.close();
  }
}
