// Hands an accepted message to the next hop (Dovecot over LMTP, or another SMTP server) with
// Postbote's own client, and folds the per-recipient replies into the one answer SMTP allows.
import type { Readable } from 'node:stream';
import { isPostboteError } from '../errors.js';
import type { Logger } from '../log.js';
import { connectSmtp } from '../smtp/client.js';
import { replyKind } from '../smtp/refusal.js';
import type { RecipientReply, SmtpReply, SmtpTls } from '../smtp/types.js';

export interface Answer {
  code: number;
  /** Reply text, starting with the enhanced status code. */
  message: string;
}

export interface NextHop {
  lmtp: boolean;
  host: string;
  port: number;
  helo: string;
  logger: Logger;
  /** TLS towards the next hop, verified unless tlsVerify is false; `ca` is an extra CA (PEM). */
  tls?: SmtpTls;
  tlsVerify?: boolean;
  ca?: string;
}

/** "host:port" or "[v6]:port" as the configuration writes it. */
export function splitHostPort(value: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(value.trim());
  if (!m) throw new Error(`not host:port: ${value}`);
  return { host: m[1]!, port: Number(m[2]) };
}

/**
 * Sends the message on. Never rejects: a next hop that is down or breaks mid-transaction is a 451
 * (the client keeps the message and retries), and the body is destroyed so its data is only drained.
 */
export async function relayMessage(
  hop: NextHop,
  envelope: { from: string; to: string[] },
  body: Readable,
): Promise<Answer> {
  const name = `${hop.lmtp ? 'lmtp' : 'smtp'} ${hop.host}:${hop.port}`;
  try {
    const conn = await connectSmtp({
      host: hop.host,
      port: hop.port,
      lmtp: hop.lmtp,
      tls: hop.tls ?? 'none',
      ...(hop.tlsVerify === false ? { tlsVerify: false } : {}),
      ...(hop.ca !== undefined ? { ca: hop.ca } : {}),
      helo: hop.helo,
      logger: hop.logger,
    });
    try {
      const result = await conn.send(envelope, body);
      return combineReplies(result.recipients, name);
    } finally {
      if (conn.closed) conn.close();
      else await conn.quit().catch(() => conn.close());
    }
  } catch (err) {
    body.destroy();
    // Too large: smtp-server answers 552 itself; the next hop saw a broken DATA and kept nothing.
    if (!(isPostboteError(err) && err.code === 'MESSAGE_TOO_LARGE'))
      hop.logger.warn({ err }, `next hop ${name} failed`);
    const why = isPostboteError(err) ? err.message : String(err);
    return { code: 451, message: `4.4.1 next hop ${name} unavailable (${why}); try again later` };
  }
}

/**
 * One answer for all recipients, because an SMTP client gets one reply to DATA:
 * - 250 only when the next hop accepted every recipient;
 * - else 451 when any recipient got a temporary failure: the client retries the whole message, so
 *   recipients already delivered get it twice (a duplicate is recoverable, a loss is not);
 * - else the first permanent refusal (5xx), also when other recipients were accepted: answering 250
 *   would silently drop the refused recipients' copy, as this connector sends no bounces; with a 5xx the
 *   sender (or Postbote's connector: fallback or quarantine) learns of it, at the price of a duplicate.
 */
export function combineReplies(replies: RecipientReply[], hop: string): Answer {
  const failed = replies.filter((r) => replyKind(r.reply) !== 'ok');
  if (failed.length === 0) {
    const text = replies[0]?.reply.text.split('\n')[0] ?? '';
    return { code: 250, message: `2.0.0 delivered by ${hop}${text ? `: ${text}` : ''}` };
  }
  const partial =
    failed.length < replies.length ? ` (accepted for ${replies.length - failed.length} other)` : '';
  const temporary = failed.find((r) => replyKind(r.reply) === 'temporary');
  if (temporary) {
    return { code: 451, message: `4.3.0 ${describe(temporary, hop)}${partial}; try again later` };
  }
  const first = failed[0]!;
  const enhanced = first.reply.enhanced ?? '5.0.0';
  return { code: first.reply.code, message: `${enhanced} ${describe(first, hop)}${partial}` };
}

function describe(r: RecipientReply, hop: string): string {
  return `${hop} answered ${formatReply(r.reply)} for <${r.address}> at ${r.stage}`;
}

function formatReply(reply: SmtpReply): string {
  const text = reply.text.split('\n')[0] ?? '';
  return `${reply.code}${reply.enhanced ? ` ${reply.enhanced}` : ''} ${text}`.trim();
}
