// `postbote route -c FILE --mailbox NAME`: for each message now on the server, where it would go and
// why. Reads headers only (TOP n 0), never fetches a body, delivers or deletes (QUIT without DELE).
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { openSource } from '../app/runtime.js';
import { StateLock } from '../app/state-lock.js';
import { envelopeSender } from '../connector/fetch-message.js';
import { identify } from '../connector/identity.js';
import { headerDigest } from '../message/header-digest.js';
import { firstHeader, parseHeaders } from '../message/headers.js';
import { type RoutingOutcome, routingStep } from '../routing/step.js';
import { SqliteStore } from '../store/sqlite.js';
import type { SeenCopy, Store } from '../store/types.js';
import { EXIT_CONFIG } from './exit.js';
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

export async function routeCommand(o: {
  config: string;
  mailbox: string;
  json?: boolean;
  wait?: string;
}): Promise<void> {
  const { config, logger } = setup(o.config, true);
  const mailbox = config.mailboxes.find((m) => m.name === o.mailbox);
  if (!mailbox) {
    console.error(`postbote: no mailbox named ${o.mailbox}`);
    process.exitCode = EXIT_CONFIG;
    return;
  }
  // The store, when there is one, tells what was fetched already and what would be a duplicate. It is
  // opened under the state's lock like every other command's (migrate() may write), so the preview
  // waits for a pass in progress instead of reading it half done.
  const file = join(config.state, 'postbote.sqlite');
  const exists = config.stateKind === 'sqlite' && existsSync(file);
  const lock = exists
    ? await StateLock.acquire(config.state, {
        command: 'postbote route',
        waitMs: waitMs(o.wait),
        onWait: sayWaiting(logger, true, o.wait),
      })
    : undefined;
  const store = exists ? new SqliteStore(file) : undefined;
  const previews: Preview[] = [];
  try {
    await store?.migrate();
    const records = store ? await store.messagesOf(mailbox.name) : [];
    const seen = previewSeen(store);
    const session = await openSource(mailbox, logger);
    try {
      const listing = await session.list();
      // Which listed message is a known record, told apart as a pass would (uid, size, headers).
      const ids = await identify(listing, records, async (m) => headerDigest(await session.top(m, 0)));
      const known = new Map(ids.matched.map(({ msg, record }) => [msg.num, record]));
      for (const msg of listing.messages) {
        const headers = parseHeaders(await session.top(msg, 0));
        const subject = firstHeader(headers, 'subject') ?? null;
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
          now: Date.now(),
        });
        seen.remember(outcome, Date.now());
        previews.push({ uid: msg.uid, size: msg.size, subject, outcome });
      }
    } finally {
      await session.close(); // QUIT: nothing was marked for deletion, so nothing is removed
    }
  } finally {
    await store?.close();
    lock?.release();
  }
  if (o.json) console.log(JSON.stringify({ mailbox: mailbox.name, messages: previews }, null, 2));
  else print(mailbox.name, previews);
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

function print(mailbox: string, previews: Preview[]): void {
  console.log(
    `${mailbox}: ${previews.length} messages on the server (headers only; nothing fetched or deleted)`,
  );
  for (const p of previews) {
    console.log(`\n${p.uid} (${p.size} bytes) ${p.subject ?? '(no subject)'}`);
    if (p.known) {
      console.log(`  already fetched: ${p.known}`);
      if (p.filter) console.log(`  filter: ${p.filter}`);
      continue;
    }
    const o = p.outcome!;
    if (o.quarantine) console.log(`  QUARANTINE: ${o.quarantine}`);
    else if (o.duplicate) console.log(`  DUPLICATE: ${o.duplicate}`);
    for (const r of o.recipients)
      console.log(`  ${r.status === 'pending' ? '→' : '×'} ${r.address}: ${r.reason}`);
    for (const line of o.explanation.filter((l) => l.startsWith('rule '))) console.log(`  ${line}`);
  }
}
