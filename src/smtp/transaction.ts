// One mail transaction: MAIL, RCPT…, DATA (pipelined per RFC 2920 when offered), the dot-stuffed
// body with backpressure, and the final reply (one for SMTP, one per accepted recipient for LMTP).
import type { Readable } from 'node:stream';
import { isPostboteError, PostboteError } from '../errors.js';
import type { Logger } from '../log.js';
import { humanSize } from '../util/size.js';
import type { Channel } from './channel.js';
import { DotStuffing } from './dot-stuff.js';
import type { Timeouts } from './handshake.js';
import { replyKind } from './refusal.js';
import { formatReply } from './reply.js';
import {
  authRequiredError,
  lostReply,
  mailCommand,
  rcptCommand,
  sentUtf8WithoutExtension,
  smtpUtf8Refusal,
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
  const utf8Refused = smtpUtf8Refusal(envelope, ctx.extensions, ch.where);
  if (utf8Refused) throw utf8Refused;
  if (sentUtf8WithoutExtension(envelope, ctx.extensions)) {
    ctx.log.info(`${ch.where} does not offer SMTPUTF8: UTF-8 header fields sent unchanged (as Postfix does)`);
  }
  const mail = mailCommand(envelope, ctx.extensions);
  const rcpts = envelope.to.map(rcptCommand);
  const withData = body !== null;
  let mailReply: SmtpReply;
  const rcptReplies: SmtpReply[] = [];
  let dataReply: SmtpReply | undefined;

  // Each reply is checked against what its command may get: a 354 to RCPT or a 250 to DATA means the
  // replies are out of step with the commands, and taking them at their word could lose a message.
  const envelopeReply = async (reply: Promise<SmtpReply>, command: string) =>
    expectReply(ctx, await reply, command, isSuccess);
  const dataCommandReply = async (reply: Promise<SmtpReply>) =>
    expectReply(ctx, await reply, 'DATA', (code) => code === 354);
  if (ctx.extensions.has('PIPELINING')) {
    // RFC 2920 3.1: DATA may close a group; the replies come back in order.
    ch.send(withData ? [mail, ...rcpts, 'DATA'] : [mail, ...rcpts]);
    mailReply = await envelopeReply(ch.readOpen(timeouts.command, mail), mail);
    for (const rcpt of rcpts) {
      rcptReplies.push(await envelopeReply(ch.readOpen(timeouts.command, rcpt), rcpt));
    }
    if (withData) dataReply = await dataCommandReply(ch.readOpen(timeouts.command, 'DATA'));
  } else {
    mailReply = await envelopeReply(ch.command(mail, timeouts.command), mail);
    if (isOk(mailReply)) {
      for (const rcpt of rcpts) {
        rcptReplies.push(await envelopeReply(ch.command(rcpt, timeouts.command), rcpt));
      }
      if (withData && rcptReplies.some(isOk)) {
        dataReply = await dataCommandReply(ch.command('DATA', timeouts.command));
      }
    }
  }

  const mailOk = isOk(mailReply);
  const accepted = mailOk ? envelope.to.flatMap((_, i) => (isOk(rcptReplies[i]!) ? [i] : [])) : [];
  const finals = new Map<number, SmtpReply>();
  let transactionOpen = true;
  if (dataReply?.code === 354 && accepted.length === 0) {
    // RFC 2920 3.1 says a server must refuse DATA when no RCPT succeeded; one that did not gets an
    // empty message ended at once, and that message is nobody's. An LMTP server owes no reply for
    // it (one per accepted recipient): the connection is dropped, which discards the data as well.
    if (ctx.lmtp) {
      ch.close();
      return { recipients: results(envelope, mailReply, rcptReplies, finals) };
    }
    ch.send(['.']);
    await ch.readOpen(timeouts.dataEnd, 'end of data');
    transactionOpen = false;
  } else if (dataReply?.code === 354 && body) {
    try {
      await sendBody(ch, body, timeouts, ctx.lmtp ? accepted.length : 1);
    } catch (err) {
      // A server that refuses the data while it comes (552 too big, then hang up) has said its final
      // word for every accepted recipient; only without such a reply is this a broken connection.
      // A 2xx before the data was complete is no acceptance: the server cannot have it all yet.
      const early = ch.unsolicited;
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

const isSuccess = (code: number) => code >= 200 && code < 300;

function isOk(reply: SmtpReply): boolean {
  return replyKind(reply) === 'ok';
}

/**
 * A reply of a kind its command cannot get (besides 4xx/5xx, which any command may get) is the server's
 * fault: the channel is closed and the transaction fails as temporary, so nothing counts as delivered.
 */
function expectReply(
  ctx: TransactionContext,
  reply: SmtpReply,
  command: string,
  success: (code: number) => boolean,
): SmtpReply {
  if (reply.code >= 400 || success(reply.code)) return reply;
  const ch = ctx.channel;
  const shown = formatReply(reply);
  ctx.log.warn(
    { where: ch.where, command, reply: shown },
    `${ch.where} broke the protocol: "${shown}" cannot answer ${command}; the connection is closed`,
  );
  const err = new PostboteError('PROTOCOL', `the server answered ${command} with ${shown}`, {
    temporary: true,
    reply,
    command,
    where: ch.where,
    hint: 'the target answers out of step with the commands; the message is retried on a new connection',
  });
  ch.fail(err);
  throw err;
}

/** Body bytes gathered before a write: a typical message in one segment, memory per session bounded. */
const BODY_WRITE_BATCH = 64 * 1024;

/**
 * Streams the body through the dot-stuffer into the socket, waiting for 'drain' when it is full.
 * Each wait is bounded by the command timeout (a server that stopped reading) and all of them by a
 * deadline that grows with the bytes written at `minDataRate` (a server that reads a byte a second),
 * Postfix's smtp_min_data_rate rule. `finalReplies` is what the end of data earns.
 */
async function sendBody(
  ch: Channel,
  body: Readable,
  timeouts: Timeouts,
  finalReplies: number,
): Promise<void> {
  const started = Date.now();
  let written = 0;
  const drained = async () => {
    const deadline = started + timeouts.command + (written / timeouts.minDataRate) * 1000;
    const left = deadline - Date.now();
    if (left >= timeouts.command) return ch.drained(timeouts.command);
    const rate = `${humanSize(timeouts.minDataRate)}/s`;
    const why = `the server took the message in slower than ${rate} (${humanSize(written)} in ${Math.round((Date.now() - started) / 1000)} s)`;
    if (left <= 0) {
      const err = new PostboteError('TIMEOUT', why, { temporary: true, where: ch.where, command: 'DATA' });
      ch.fail(err);
      throw err;
    }
    return ch.drained(left, why);
  };
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
      written += batched;
      batch = [];
      batched = 0;
      if (!more) await drained();
    }
    batch.push(stuffing.end());
    ch.expect(finalReplies);
    written += batched;
    if (!ch.writeMany(batch)) await drained();
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
  const finalReply = (reply: SmtpReply) => expectReply(ctx, reply, 'end of data', isSuccess);
  if (!ctx.lmtp) {
    const reply = finalReply(await ch.readOpen(timeouts.dataEnd, 'end of data'));
    for (const i of accepted) finals.set(i, reply);
    return;
  }
  // One deadline for all of them: a server trickling its replies one by one gets no more time than one
  // that answers them together.
  const deadline = Date.now() + timeouts.dataEnd;
  for (const [n, i] of accepted.entries()) {
    let reply: SmtpReply;
    try {
      reply = finalReply(await ch.read(Math.max(1, deadline - Date.now()), 'end of data'));
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
