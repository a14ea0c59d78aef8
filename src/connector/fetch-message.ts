// Fetching one new message: stream it into the spool, decide its routing, record it, then deliver it
// (or hold it: too large, looping, duplicate). The order is the durability guarantee: nothing is
// delivered before spool and store have it. Fetching and delivering are two calls, so the pass can
// read the next message from the provider while this one is with the target.

import type { Readable } from 'node:stream';
import {
  type AttemptOutcome,
  attemptDelivery,
  type DeliveryContext,
  type MessageOrigin,
} from '../delivery/attempt.js';
import { attachmentNames } from '../message/attachments.js';
import { displayHeader } from '../message/display.js';
import { headerDigest } from '../message/header-digest.js';
import { firstAddress, firstHeader, type Header, parseHeaders } from '../message/headers.js';
import { reversePathOf } from '../message/sender.js';
import { type RoutingOutcome, routingStep } from '../routing/step.js';
import type { SourceMessage } from '../source/types.js';
import type { SpooledFile } from '../spool/spool.js';
import { DuplicateRaceError } from '../store/lifecycle.js';
import type { MessageRecord } from '../store/types.js';
import { KeyedLock } from '../util/keyed-lock.js';
import type { MailboxPlan } from './mailbox-pass.js';

/**
 * A fetched message: decided already (held, too large) or recorded and waiting for its delivery,
 * which the pass starts with deliverFetched() when it chooses (see DELIVERIES_IN_FLIGHT).
 */
export type Fetched =
  | { kind: 'decided'; outcome: AttemptOutcome & { kind: 'final' } }
  | { kind: 'recorded'; record: MessageRecord; header: Buffer; origin: MessageOrigin };

/**
 * Two passes that fetch copies of one message at the same moment (two catch-all mailboxes the mail
 * reached by two paths) take turns from the duplicate check to the record, so the second check sees
 * the first copy's record instead of both finding none. Keyed by content digest (the fingerprint
 * without the Message-ID: coarser, never looser), in this process; only where a duplicate window
 * applies, so plain mailboxes pay nothing. Across instances on one state the store refuses the later
 * record instead (routedRecord).
 */
const duplicateTurns = new KeyedLock();

/**
 * Spools, routes and records one message. `stream` is the message's bytes as requested from the
 * server; absent when the pass did not request it because the listed size is over maxMessageSize.
 */
export async function fetchMessage(
  ctx: DeliveryContext,
  plan: MailboxPlan,
  msg: SourceMessage,
  stream: Readable | undefined,
  onFetched: (bytes: number) => void,
): Promise<Fetched> {
  if (!stream) {
    const reason = `too large to fetch: ${msg.size} bytes on the server, limit ${plan.maxMessageSize} (maxMessageSize); left on the server`;
    return { kind: 'decided', outcome: await quarantineUnfetched(ctx, plan, msg, reason) };
  }
  // A read that fails throws (the pass decides what it costs: see read-failure.ts); nothing is recorded.
  const spooled = await ctx.spool.write(stream, plan.maxMessageSize);
  const headers = parseHeaders(spooled.header);
  const sender = envelopeSender(plan, headers);
  const release = plan.route.catchAll?.duplicateWindow
    ? await duplicateTurns.acquire(spooled.contentDigest)
    : undefined;
  try {
    return await routeAndRecord(ctx, plan, { msg, spooled, headers, sender }, onFetched);
  } finally {
    release?.();
  }
}

/** A message as read into the spool: what routing and its record are made from. */
interface ReadMessage {
  msg: SourceMessage;
  spooled: SpooledFile;
  headers: Header[];
  sender: string;
}

/** fetchMessage's part from the routing decision to the record (and a held message's outcome). */
async function routeAndRecord(
  ctx: DeliveryContext,
  plan: MailboxPlan,
  read: ReadMessage,
  onFetched: (bytes: number) => void,
): Promise<Fetched> {
  const { spooled } = read;
  const { routing, record } = await routedRecord(ctx, plan, read);
  onFetched(spooled.size);
  const held = routing.quarantine ?? routing.duplicate;
  if (held) {
    // A duplicate is final like a delivered message (its bytes go, the provider's copy goes);
    // a quarantined one keeps its bytes.
    const state = routing.quarantine ? 'quarantined' : 'duplicate';
    if (state === 'quarantined') ctx.spool.persist(spooled.key);
    const updated = await ctx.store.recordAttempt(
      record.id,
      {
        state,
        recipients: record.recipients,
        nextAttemptAt: null,
        reason: held,
        spoolKey: state === 'duplicate' ? null : record.spoolKey,
        countsAsAttempt: false,
      },
      { at: ctx.now(), outcome: state, detail: held, recipients: [] },
    );
    if (state === 'duplicate') await ctx.spool.remove(spooled.key);
    return { kind: 'decided', outcome: { kind: 'final', record: updated } };
  }
  return { kind: 'recorded', record, header: spooled.header, origin: origin(plan) };
}

/** How often a record refused as a raced duplicate is routed again before the pass gives up on it. */
const ROUTING_RACES = 3;

/**
 * Routes the message and records it. Where a duplicate window applies, the store refuses the record
 * when another writer (another instance on a shared state) recorded a copy for one of its recipients
 * after this routing's check (DuplicateRaceError): routed again, those recipients are duplicates.
 */
async function routedRecord(
  ctx: DeliveryContext,
  plan: MailboxPlan,
  { msg, spooled, headers, sender }: ReadMessage,
): Promise<{ routing: RoutingOutcome; record: MessageRecord }> {
  const window = plan.route.catchAll?.duplicateWindow;
  for (let race = 1; ; race++) {
    const now = ctx.now();
    const routing = await routingStep(ctx.store, {
      route: plan.route,
      headers,
      size: spooled.size,
      sender,
      mailboxUser: plan.user,
      provider: plan.host,
      maxReceivedHeaders: plan.maxReceivedHeaders,
      hostname: ctx.hostname,
      contentDigest: spooled.contentDigest,
      now,
      attachments: () => attachmentNames(ctx.spool.open(spooled.key)),
    });
    try {
      const record = await ctx.store.addSpooled({
        mailbox: plan.name,
        uid: msg.uid,
        sourceSize: msg.size,
        headerDigest: headerDigest(spooled.header),
        ...(msg.internalDate !== undefined ? { sourceDate: msg.internalDate } : {}),
        spoolKey: spooled.key,
        size: spooled.size,
        sha256: spooled.sha256,
        messageId: firstAddress(firstHeader(headers, 'message-id')) ?? null,
        sender,
        subject: subjectOf(headers),
        recipients: routing.recipients,
        fetchedAt: ctx.now(),
        // Only a message that is delivered counts as seen for later duplicates.
        ...(routing.quarantine
          ? {}
          : { fingerprint: routing.fingerprint, ...(window ? { duplicateSince: now - window } : {}) }),
        explanation: routing.explanation,
      });
      return { routing, record };
    } catch (err) {
      if (!(err instanceof DuplicateRaceError) || race >= ROUTING_RACES) throw err;
      ctx.logger.info({ mailbox: plan.name, uid: msg.uid }, `${err.message}: routed again`);
    }
  }
}

/** The delivery of a message fetchMessage() recorded (or its held outcome, as decided). */
export function deliverFetched(ctx: DeliveryContext, fetched: Fetched): Promise<AttemptOutcome> {
  if (fetched.kind === 'decided') return Promise.resolve(fetched.outcome);
  return attemptDelivery(ctx, fetched.origin, fetched.record, { header: fetched.header });
}

/**
 * A message recorded without its bytes (too large, unreadable) and released by an admin: fetched into
 * its own record whatever maxMessageSize says (the admin asked for it), then delivered to the
 * recipients the release chose. Routing does not run again: the release is the decision.
 */
export async function fetchReleased(
  ctx: DeliveryContext,
  plan: MailboxPlan,
  msg: SourceMessage,
  record: MessageRecord,
  stream: Readable,
  onFetched: (bytes: number) => void,
): Promise<AttemptOutcome> {
  const spooled = await ctx.spool.write(stream, releasedLimit(plan, msg.size));
  const headers = parseHeaders(spooled.header);
  const updated = await ctx.store.attachBytes(record.id, {
    spoolKey: spooled.key,
    size: spooled.size,
    sha256: spooled.sha256,
    headerDigest: headerDigest(spooled.header),
    messageId: firstAddress(firstHeader(headers, 'message-id')) ?? null,
    sender: envelopeSender(plan, headers),
    subject: firstHeader(headers, 'subject') ?? null,
    // From now: retry expiry counts from when the bytes arrived, not from the quarantine.
    fetchedAt: ctx.now(),
  });
  onFetched(spooled.size);
  return attemptDelivery(ctx, origin(plan), updated, { header: spooled.header });
}

/**
 * How many bytes a released message may bring: twice its listed size, at least maxMessageSize. A
 * server's LIST may count bare LF line ends the body sends as CRLF (twice the octets at most); the
 * bound still stops a body that never ends from filling the disk.
 */
export function releasedLimit(plan: Pick<MailboxPlan, 'maxMessageSize'>, listedSize: number): number {
  return Math.max(plan.maxMessageSize, 2 * listedSize);
}

/** Records kept without bytes that an admin released: the next session fetches them. */
export function isReleasedUnfetched(record: MessageRecord): boolean {
  return record.state === 'spooled' && record.spoolKey === null && record.detachedAt == null;
}

/**
 * A message too large or unreadable is recorded as quarantined without its bytes: it is not fetched
 * again, and never deleted at the source (the provider's copy is the only one).
 */
export async function quarantineUnfetched(
  ctx: DeliveryContext,
  plan: MailboxPlan,
  msg: SourceMessage,
  reason: string,
): Promise<AttemptOutcome & { kind: 'final' }> {
  const record = await ctx.store.addSpooled({
    mailbox: plan.name,
    uid: msg.uid,
    sourceSize: msg.size,
    spoolKey: null,
    size: msg.size,
    sha256: '',
    messageId: null,
    sender: '',
    subject: null,
    recipients: [],
    fetchedAt: ctx.now(),
  });
  const updated = await ctx.store.recordAttempt(
    record.id,
    {
      state: 'quarantined',
      recipients: [],
      nextAttemptAt: null,
      reason,
      spoolKey: null,
      countsAsAttempt: false,
    },
    { at: ctx.now(), outcome: 'quarantined', detail: reason, recipients: [] },
  );
  return { kind: 'final', record: updated };
}

/** The subject as people read it (decoded once here, so every reader of the store gets it readable). */
function subjectOf(headers: Header[]): string | null {
  const raw = firstHeader(headers, 'subject');
  return raw === undefined ? null : displayHeader(raw);
}

export function origin(plan: MailboxPlan): MessageOrigin {
  return {
    protocol: plan.protocol,
    server: plan.host,
    secure: plan.secure,
    fallback: plan.fallback,
    // The filter step runs in attemptDelivery, before the first send: new mail and retries alike.
    filters: plan.filters,
    mailboxUser: plan.user,
  };
}

/** The reverse path for the target: Return-Path as the provider recorded it, per configuration. */
export function envelopeSender(
  plan: Pick<MailboxPlan, 'envelopeSender' | 'user'>,
  headers: Header[],
): string {
  if (plan.envelopeSender === 'mailbox') return plan.user.includes('@') ? plan.user : '';
  if (plan.envelopeSender === '<>') return '';
  if (plan.envelopeSender !== 'return-path') return plan.envelopeSender;
  return reversePathOf(headers);
}
