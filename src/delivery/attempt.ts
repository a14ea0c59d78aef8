// One delivery attempt of a spooled message: hand it to the target, read each recipient's reply,
// and decide — delivered, deferred with backoff, rerouted to the fallback, or quarantined.
// A target that refuses Postbote itself changes nothing about the message.
import { Readable } from 'node:stream';
import { type ErrorCode, isPostboteError, PostboteError, toPostboteError } from '../errors.js';
import { headerRewriter } from '../filters/header-rewrite.js';
import type { FilterSet } from '../filters/scan.js';
import type { Logger } from '../log.js';
import {
  classifyRefusal,
  connectorRefusalHint,
  isNonAcceptedDomain,
  isTooLarge,
  replyKind,
} from '../smtp/refusal.js';
import type { RecipientReply } from '../smtp/types.js';
import { headersAre8Bit, messageHeadersAre8Bit } from '../smtp/utf8.js';
import { MAX_HEADER_BYTES } from '../spool/header-capture.js';
import type { Spool } from '../spool/spool.js';
import type { MessageRecord, RecipientRecord, Store, StoredReply } from '../store/types.js';
import { receivedHeader } from './received.js';
import type { Target } from './target.js';

export interface RetryPolicy {
  initial: number;
  max: number;
  expireAfter: number;
}

export interface DeliveryContext {
  target: Target;
  spool: Spool;
  store: Store;
  logger: Logger;
  retry: RetryPolicy;
  /** This host's name, for the Received header. */
  hostname: string;
  now: () => number;
}

/** What the mailbox the message came from adds to its delivery. */
export interface MessageOrigin {
  protocol: 'pop3' | 'imap';
  server: string;
  secure: boolean;
  /** Where mail refused with 5xx goes instead of quarantine. */
  fallback?: string;
  /** Spam/virus scanners run once before the first delivery (src/filters/). */
  filters?: FilterSet;
  /** The mailbox's login, passed to scanners as the user (per-user settings in rspamd/spamd). */
  mailboxUser?: string;
}

export type AttemptOutcome =
  /** Delivered or quarantined: safe to remove at the source. */
  | { kind: 'final'; record: MessageRecord }
  /** Some recipient still pending: retried later. */
  | { kind: 'deferred'; record: MessageRecord; error?: PostboteError }
  /** The target refuses Postbote (or is unreachable): stop delivering for now; the message is untouched. */
  | { kind: 'target-unavailable'; record: MessageRecord; error: PostboteError };

/**
 * Rerouting to the fallback happens in the same attempt; this bounds it (original try + fallback).
 * Only a recipient added by that rerouting may start the second transaction: one that got 4xx waits
 * for its backoff, as Postfix's queue manager does, instead of having the data sent again at once.
 */
const MAX_TRANSACTIONS_PER_ATTEMPT = 2;

/** What the caller already knows of the spooled bytes. */
export interface SpooledHints {
  /** The header block as captured while spooling (spool.write): spares reading the file to see if it needs SMTPUTF8. */
  header?: Buffer;
}

export async function attemptDelivery(
  ctx: DeliveryContext,
  origin: MessageOrigin,
  initial: MessageRecord,
  hints: SpooledHints = {},
): Promise<AttemptOutcome> {
  let record = initial;
  const key = record.spoolKey;
  if (!key) throw new PostboteError('SPOOL', `message ${record.id} has no spool file`, { temporary: false });
  // The filter step is loaded with the first filtered message: a fetch without filters never needs it.
  const step = origin.filters ? await import('../filters/step.js') : undefined;
  if (origin.filters && step?.needsFiltering(record)) {
    const filtered = await step.filterStep(ctx, origin.filters, record, origin.mailboxUser ?? '');
    if (filtered.kind === 'final') return filtered;
    if (filtered.kind === 'defer') {
      // Like a target that is down: the message waits with backoff, the pass stops and names the scanner.
      const deferred = await finish(ctx, record, record.recipients, [], undefined, filtered.error);
      return deferred.kind === 'final'
        ? deferred
        : { kind: 'target-unavailable', record: deferred.record, error: filtered.error };
    }
    record = filtered.record;
  }
  let recipients = record.recipients.map((r) => ({ ...r }));
  const log: Array<{ address: string; reply?: StoredReply }> = [];
  let tooLarge: StoredReply | undefined;

  // Who the next transaction is for: first every pending recipient, then only the fallback just added.
  let pending = recipients.filter((r) => r.status === 'pending');
  // RFC 6532 headers need SMTPUTF8 on every transaction of this message: from the header block captured
  // while spooling when it is whole (below the capture's cap), else read once from the spool.
  const utf8 =
    hints.header && hints.header.length < MAX_HEADER_BYTES
      ? headersAre8Bit(hints.header)
      : await messageHeadersAre8Bit(ctx.spool.open(key));
  for (let round = 0; round < MAX_TRANSACTIONS_PER_ATTEMPT && pending.length > 0; round++) {
    let replies: RecipientReply[];
    try {
      replies = await sendOnce(ctx, origin, record, key, pending, utf8);
    } catch (err) {
      const error = isPostboteError(err) ? err : toPostboteError(err, ctx.target.where);
      if (error.code === 'SMTP_UTF8_UNSUPPORTED') {
        // RFC 6857: refused rather than downgraded; it is this message, not the target, so quarantine it.
        ctx.target.setHealth('ok');
        return quarantineUnsent(ctx, record, recipients, log, error);
      }
      const fault = classifySendFailure(error);
      if (fault === 'message') {
        // Retrying cannot help and the target did nothing wrong: the message goes to quarantine now.
        if (round > 0) break;
        return finish(ctx, record, recipients, log, undefined, undefined, error);
      }
      const refusing = fault === 'connector';
      ctx.target.setHealth(refusing ? 'refusing' : 'down', error);
      if (round > 0) break; // the first transaction's results stand; the rest stays pending
      if (refusing) return { kind: 'target-unavailable', record, error };
      const deferred = await finish(ctx, record, recipients, log, undefined, error);
      return deferred.kind === 'final'
        ? deferred
        : { kind: 'target-unavailable', record: deferred.record, error };
    }
    const refusal = classifyRefusal(replies);
    if (refusal === 'client-refused') {
      const error = connectorRefusedError(ctx, replies);
      ctx.target.setHealth('refusing', error);
      if (round > 0) break;
      return { kind: 'target-unavailable', record, error };
    }
    ctx.target.setHealth('ok');
    const before = recipients.length;
    recipients = applyReplies(recipients, replies, origin.fallback, log, (reply) => {
      tooLarge = reply;
    });
    if (tooLarge) break;
    pending = recipients.slice(before);
  }
  return finish(ctx, record, recipients, log, tooLarge);
}

async function sendOnce(
  ctx: DeliveryContext,
  origin: MessageOrigin,
  record: MessageRecord,
  key: string,
  pending: RecipientRecord[],
  utf8: boolean,
): Promise<RecipientReply[]> {
  const to = pending.map((r) => r.address);
  const trace = Buffer.from(
    receivedHeader({
      from: origin.server,
      by: ctx.hostname,
      protocol: origin.protocol,
      secure: origin.secure,
      id: key,
      recipients: to,
      date: new Date(ctx.now()),
    }),
  );
  // A filtered message: the verdict's fields below the trace, forged ones dropped from the original
  // while it streams (the spool keeps the bytes as fetched).
  const edits = record.filter?.edits;
  const added = Buffer.from(edits ? edits.add.join('') : '', 'utf8');
  const body = () =>
    Readable.from(
      (async function* () {
        yield trace;
        if (added.length > 0) yield added;
        yield* edits ? ctx.spool.open(key).pipe(headerRewriter(edits)) : ctx.spool.open(key);
      })(),
      { objectMode: false },
    );
  const prefix = edits?.subjectPrefix ? Buffer.byteLength(edits.subjectPrefix) : 0;
  const result = await ctx.target.send(
    {
      from: record.sender,
      to,
      size: record.size + trace.length + added.length + prefix,
      eightBit: true,
      utf8,
    },
    body,
  );
  return result.recipients;
}

function applyReplies(
  recipients: RecipientRecord[],
  replies: RecipientReply[],
  fallback: string | undefined,
  log: Array<{ address: string; reply?: StoredReply }>,
  onTooLarge: (reply: StoredReply) => void,
): RecipientRecord[] {
  const out = recipients.map((r) => ({ ...r }));
  for (const { address, reply } of replies) {
    const stored: StoredReply = { code: reply.code, enhanced: reply.enhanced, text: reply.text };
    log.push({ address, reply: stored });
    const r = out.find((x) => x.address === address && x.status === 'pending');
    if (!r) continue;
    r.reply = stored;
    const kind = replyKind(reply);
    if (kind === 'ok') r.status = 'delivered';
    else if (kind === 'temporary') r.status = 'pending';
    else if (isTooLarge(reply)) {
      r.status = 'refused';
      onTooLarge(stored);
    } else if (fallback && address !== fallback && !out.some((x) => x.address === fallback)) {
      r.status = 'rerouted';
      out.push({
        address: fallback,
        status: 'pending',
        reason: `fallback for ${address}, refused: ${describeReply(stored)}`,
      });
    } else {
      r.status = 'refused';
    }
  }
  return out;
}

async function finish(
  ctx: DeliveryContext,
  record: MessageRecord,
  recipients: RecipientRecord[],
  log: Array<{ address: string; reply?: StoredReply }>,
  tooLarge: StoredReply | undefined,
  error?: PostboteError,
  /** A permanent error about this message itself: quarantined now, without waiting for expiry. */
  hopeless?: PostboteError,
): Promise<AttemptOutcome> {
  const now = ctx.now();
  const pending = recipients.filter((r) => r.status === 'pending');
  const refused = recipients.filter((r) => r.status === 'refused');
  const attempts = record.attempts + 1;
  const expired = now - record.fetchedAt >= ctx.retry.expireAfter;
  let state: MessageRecord['state'];
  let reason: string | null = null;
  if (hopeless) {
    state = 'quarantined';
    reason = `cannot be delivered: ${hopeless.describe()}`;
  } else if (tooLarge) {
    state = 'quarantined';
    reason = `too large for the target: ${describeReply(tooLarge)}`;
  } else if (pending.length > 0 && !expired) {
    state = 'deferred';
    reason = error ? error.describe() : `temporary failure: ${pendingReasons(pending)}`;
  } else if (pending.length > 0) {
    state = 'quarantined';
    reason = `still failing temporarily after ${Math.round(ctx.retry.expireAfter / 3_600_000)} h: ${pendingReasons(pending)}`;
  } else if (refused.length > 0) {
    state = 'quarantined';
    reason = `refused: ${refused.map((r) => `${r.address}: ${describeReply(r.reply)}`).join('; ')}`;
  } else {
    state = 'delivered';
  }
  const nextAttemptAt = state === 'deferred' ? now + backoff(ctx.retry, attempts) : null;
  if (state !== 'delivered') await shareBytes(ctx, record);
  const updated = await ctx.store.recordAttempt(
    record.id,
    {
      state,
      recipients,
      nextAttemptAt,
      reason,
      spoolKey: state === 'delivered' ? null : record.spoolKey,
      countsAsAttempt: true,
      // Guarded: if another writer (an admin, another instance) changed the record meanwhile, this fails.
      expect: record.state,
    },
    { at: now, outcome: state, detail: reason ?? 'accepted for every recipient', recipients: log },
  );
  // Only after the store committed: the bytes are no longer needed.
  if (state === 'delivered' && record.spoolKey) await ctx.spool.remove(record.spoolKey);
  if (state === 'deferred') return { kind: 'deferred', record: updated, error };
  return { kind: 'final', record: updated };
}

/** A message Postbote will not send to this target as it is: quarantined with the reason, bytes kept. */
async function quarantineUnsent(
  ctx: DeliveryContext,
  record: MessageRecord,
  recipients: RecipientRecord[],
  log: Array<{ address: string; reply?: StoredReply }>,
  error: PostboteError,
): Promise<AttemptOutcome> {
  const reason = `${error.message}${error.hint ? ` (${error.hint})` : ''}`;
  ctx.logger.warn({ id: record.id, uid: record.uid }, reason);
  await shareBytes(ctx, record);
  const updated = await ctx.store.recordAttempt(
    record.id,
    {
      state: 'quarantined',
      recipients,
      nextAttemptAt: null,
      reason,
      spoolKey: record.spoolKey,
      countsAsAttempt: true,
    },
    { at: ctx.now(), outcome: 'quarantined', detail: reason, recipients: log },
  );
  return { kind: 'final', record: updated };
}

/**
 * A message that outlives this attempt (deferred, quarantined) is copied where every instance can
 * read it (a PostgreSQL state; nothing for a folder state) before that state is committed. A failed
 * copy does not hold the outcome back (recipients that got it must be recorded): the message stays
 * at the provider until its copy is made (remove-at-source.ts), so a later pass can fetch it again.
 */
async function shareBytes(ctx: DeliveryContext, record: MessageRecord): Promise<void> {
  if (!record.spoolKey) return;
  try {
    await ctx.spool.retain(record.spoolKey, record.size, record.sha256);
  } catch (err) {
    const error = toPostboteError(err, 'the shared message store');
    ctx.logger.error(
      { id: record.id, uid: record.uid, err: error.toJSON() },
      `message ${record.id}: its bytes could not be copied to the shared store: ${error.describe()}`,
    );
  }
}

export function backoff(retry: RetryPolicy, attempts: number): number {
  return Math.min(retry.max, retry.initial * 2 ** Math.max(0, attempts - 1));
}

function pendingReasons(pending: RecipientRecord[]): string {
  return pending.map((r) => `${r.address}: ${describeReply(r.reply)}`).join('; ');
}

function describeReply(reply: StoredReply | undefined): string {
  if (!reply) return 'no reply';
  return `${reply.code}${reply.enhanced ? ` ${reply.enhanced}` : ''} ${reply.text}`;
}

/** Errors that say the target refuses the connector itself, whatever `temporary` says. */
const CONNECTOR_CODES: ReadonlySet<ErrorCode> = new Set([
  'SMTP_REFUSED_CLIENT',
  'SMTP_AUTH',
  'TLS_REQUIRED',
  'TLS_FAILED',
  'SMTP_GREETING',
]);
/** Permanent errors about this message's own envelope or content: no target will take it as it is. */
const MESSAGE_CODES: ReadonlySet<ErrorCode> = new Set([
  'SMTP_SENDER',
  'SMTP_RECIPIENT',
  'SMTP_DATA',
  'MESSAGE_TOO_LARGE',
]);
/** Postbote's own disk and database: neither the target's fault nor the message's. */
const LOCAL_CODES: ReadonlySet<ErrorCode> = new Set(['SPOOL', 'STORE', 'CANCELLED']);

/**
 * What a transaction that failed without replies says. 'connector': the target refuses Postbote or
 * cannot be reached as configured (a permanent error: localAddress not on this machine, certificate
 * not trusted) - configuration, not the mail, so the message is left as it is. 'message': retrying this
 * message can never help - quarantined now. 'down': temporary, retried with the backoff.
 */
export function classifySendFailure(error: PostboteError): 'connector' | 'message' | 'down' {
  if (CONNECTOR_CODES.has(error.code)) return 'connector';
  if (error.temporary || LOCAL_CODES.has(error.code)) return 'down';
  return MESSAGE_CODES.has(error.code) ? 'message' : 'connector';
}

function connectorRefusedError(ctx: DeliveryContext, replies: RecipientReply[]): PostboteError {
  const first = replies[0]?.reply;
  const source = ctx.target.localAddress ?? 'this machine’s address';
  return new PostboteError(
    'SMTP_REFUSED_CLIENT',
    'the target refuses every recipient: it does not accept Postbote',
    {
      temporary: true,
      where: ctx.target.where,
      reply: first && { code: first.code, enhanced: first.enhanced, text: first.text },
      hint: replies.every((r) => isNonAcceptedDomain(r.reply))
        ? connectorRefusalHint(replies, ctx.target.localAddress)
        : `the receive connector refuses mail from ${source}: add it to RemoteIPRanges on the receive connector ` +
          '(and allow anonymous or set target.auth), or set target.localAddress to an allowed address',
    },
  );
}
