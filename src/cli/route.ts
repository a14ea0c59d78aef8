// `postbote route -c FILE --mailbox NAME`: for each message now on the server, where it would go and
// why. Reads headers only (TOP n 0), never fetches a body, delivers or deletes (QUIT without DELE).
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openSource } from '../app/runtime.js';
import { StateLock } from '../app/state-lock.js';
import type { Config, MailboxConfig } from '../config/index.js';
import { envelopeSender } from '../connector/fetch-message.js';
import { identify } from '../connector/identity.js';
import { askService, osUser } from '../control/client.js';
import type { ControlIo } from '../control/server.js';
import type { Logger } from '../log.js';
import { displayHeader } from '../message/display.js';
import { headerDigest } from '../message/header-digest.js';
import { firstHeader, parseHeaders } from '../message/headers.js';
import { type RoutingOutcome, routingStep } from '../routing/step.js';
import { ContentDigest } from '../spool/content-digest.js';
import { SqliteStore } from '../store/sqlite.js';
import type { SeenCopy, Store } from '../store/types.js';
import { humanSize } from '../util/size.js';
import { EXIT_CONFIG, EXIT_IN_USE, fail } from './exit.js';
import { mailboxNameError, mailboxRequiredError } from './mailbox-names.js';
import { localIo, type OpEnv } from './op-env.js';
import { sayWaiting, setup, waitMs } from './setup.js';

interface Preview {
  uid: string;
  size: number;
  subject: string | null;
  /** The store's state when the message was already fetched (then it is not routed again). */
  known?: string;
  /** The spam/virus filter's verdict of a fetched message (src/filters/), one line. */
  filter?: string;
  outcome?: RoutingOutcome;
}

export interface RouteArgs {
  mailbox: string;
  json?: boolean;
  /** In the service: how long to wait for a running session of the mailbox to end. */
  waitMs?: number;
}

/** Between two looks at whether the mailbox's session has ended, in the service. */
const BUSY_POLL_MS = 100;

export async function routeCommand(o: {
  config: string;
  mailbox?: string;
  json?: boolean;
  wait?: string;
}): Promise<void> {
  const { config, logger } = setup(o.config, true);
  const wrong =
    o.mailbox === undefined ? mailboxRequiredError(config) : mailboxNameError(config, [o.mailbox]);
  const mailbox = config.mailboxes.find((m) => m.name === o.mailbox);
  if (wrong || !mailbox) fail(wrong ?? mailboxRequiredError(config));
  const args: RouteArgs = { mailbox: mailbox.name, json: o.json, waitMs: waitMs(o.wait) };
  const remote = await askService(resolve(config.state), 'route', { ...args });
  if (remote !== undefined) {
    process.exitCode = remote;
    return;
  }
  const io = localIo(osUser());
  // The store, when there is one, tells what was fetched already and what would be a duplicate. A
  // folder store is opened under the state's lock like every other command's (migrate() may write), so
  // the preview waits for a pass in progress instead of reading it half done. A PostgreSQL store is
  // shared by running instances: it is only read (its migrations take their own advisory lock), and a
  // record a pass is writing at this moment shows in the state it has reached.
  const file = join(config.state, 'postbote.sqlite');
  const exists = config.stateKind === 'sqlite' && existsSync(file);
  const lock = exists
    ? await StateLock.acquire(config.state, {
        command: 'postbote route',
        waitMs: args.waitMs ?? 0,
        onWait: sayWaiting(logger, true, o.wait),
      })
    : undefined;
  const store: Store | undefined = exists
    ? new SqliteStore(file)
    : config.stateKind === 'postgres'
      ? new (await import('../store/postgres.js')).PostgresStore(config.state, { poolSize: 2 })
      : undefined;
  let previews: Preview[];
  try {
    await store?.migrate();
    previews = await preview(config, mailbox, store, logger);
  } finally {
    await store?.close();
    lock?.release();
  }
  report(mailbox.name, previews, args, io);
}

/** Checks the arguments a control client sent. */
export function routeArgs(raw: Record<string, unknown>): RouteArgs {
  const wait = Number(raw.waitMs);
  return {
    mailbox: typeof raw.mailbox === 'string' ? raw.mailbox : '',
    json: raw.json === true,
    waitMs: Number.isFinite(wait) && wait >= 0 ? wait : 0,
  };
}

/**
 * In the service: the preview with the service's store, once no session of the mailbox runs (the
 * provider would refuse a second one, and a pass half done would be shown half done).
 */
export async function routeOp(env: OpEnv, args: RouteArgs, io: ControlIo): Promise<number> {
  const mailbox = env.runtime.config.mailboxes.find((m) => m.name === args.mailbox);
  if (!mailbox) {
    io.err(`postbote: no mailbox named ${args.mailbox}\n`);
    return EXIT_CONFIG;
  }
  const deadline = Date.now() + (args.waitMs ?? 0);
  while (env.scheduler.busy(mailbox.name)) {
    if (Date.now() >= deadline) {
      io.err(
        `postbote: a session of mailbox ${mailbox.name} is running in the service; try again with --wait 5m\n`,
      );
      return EXIT_IN_USE;
    }
    await sleep(BUSY_POLL_MS);
  }
  report(mailbox.name, await preview(env.runtime.config, mailbox, env.runtime.store, env.logger), args, io);
  return 0;
}

function report(mailbox: string, previews: Preview[], args: RouteArgs, io: ControlIo): void {
  if (args.json) io.out(`${JSON.stringify({ mailbox, messages: previews }, null, 2)}\n`);
  else print(mailbox, previews, io);
}

/** Lists the mailbox (headers only) and routes each message not fetched yet. QUIT without DELE. */
async function preview(
  config: Config,
  mailbox: MailboxConfig,
  store: Store | undefined,
  logger: Logger,
): Promise<Preview[]> {
  const previews: Preview[] = [];
  const records = store ? await store.messagesOf(mailbox.name) : [];
  const seen = previewSeen(store);
  const session = await openSource(mailbox, logger);
  try {
    const listing = await session.list();
    // Which listed message is a known record, told apart as a pass would (uid, size, headers).
    const ids = await identify(listing, records, async (m) => headerDigest(await session.top(m, 0)));
    const known = new Map(ids.matched.map(({ msg, record }) => [msg.num, record]));
    for (const msg of listing.messages) {
      const top = await session.top(msg, 0);
      const headers = parseHeaders(top);
      const raw = firstHeader(headers, 'subject');
      const subject = raw === undefined ? null : displayHeader(raw);
      const rec = known.get(msg.num);
      if (rec) {
        const filter = rec.filter?.summary;
        previews.push({
          uid: msg.uid,
          size: msg.size,
          subject,
          known: rec.state,
          ...(filter ? { filter } : {}),
        });
        continue;
      }
      const plan = { envelopeSender: mailbox.envelopeSender, user: mailbox.user };
      const outcome = await routingStep(seen, {
        route: { deliverTo: mailbox.deliverTo, catchAll: mailbox.catchAll, rules: mailbox.rules },
        headers,
        size: msg.size,
        sender: envelopeSender(plan, headers),
        mailboxUser: mailbox.user,
        provider: mailbox.host,
        maxReceivedHeaders: config.delivery.maxReceivedHeaders,
        hostname: config.target.helo ?? hostname(),
        // Headers only: copies are told apart by their own fields, not by the body a pass would hash.
        contentDigest: headerContentDigest(top),
        now: Date.now(),
      });
      seen.remember(outcome, Date.now());
      previews.push({ uid: msg.uid, size: msg.size, subject, outcome });
    }
  } finally {
    await session.close(); // QUIT: nothing was marked for deletion, so nothing is removed
  }
  return previews;
}

function headerContentDigest(block: Buffer): string {
  const d = new ContentDigest();
  d.push(block);
  return `h-${d.digest()}`;
}

/** Duplicates against the store plus the earlier messages of this same listing. */
function previewSeen(store: Store | undefined) {
  const memory = new Map<string, SeenCopy>();
  return {
    async seenCopies(fingerprint: string, recipients: string[], since: number) {
      const out = store
        ? await store.seenCopies(fingerprint, recipients, since)
        : new Map<string, SeenCopy>();
      for (const r of recipients) {
        const m = memory.get(`${fingerprint}\n${r.toLowerCase()}`);
        if (m && !out.has(r)) out.set(r, m);
      }
      return out;
    },
    remember(outcome: RoutingOutcome, at: number) {
      if (outcome.quarantine) return;
      for (const r of outcome.recipients) {
        if (r.status !== 'pending') continue;
        const copy = { recipient: r.address, mailbox: '(this listing)', uid: '', messageId: 0, at };
        memory.set(`${outcome.fingerprint}\n${r.address.toLowerCase()}`, copy);
      }
    },
  };
}

function print(mailbox: string, previews: Preview[], io: ControlIo): void {
  const say = (line: string) => io.out(`${line}\n`);
  say(`${mailbox}: ${previews.length} messages on the server (headers only; nothing fetched or deleted)`);
  for (const p of previews) {
    say(`\n${p.uid} (${humanSize(p.size)}) ${p.subject ?? '(no subject)'}`);
    if (p.known) {
      say(`  already fetched: ${p.known}`);
      if (p.filter) say(`  filter: ${p.filter}`);
      continue;
    }
    const o = p.outcome!;
    if (o.quarantine) say(`  QUARANTINE: ${o.quarantine}`);
    else if (o.duplicate) say(`  DUPLICATE: ${o.duplicate}`);
    for (const r of o.recipients) say(`  ${r.status === 'pending' ? '→' : '×'} ${r.address}: ${r.reason}`);
    for (const line of o.explanation.filter((l) => l.startsWith('rule '))) say(`  ${line}`);
  }
}
