// `postbote queue …`: the mail that waits (deferred) or was set aside (quarantined), and the web page's
// actions on it from the command line: retry now, release to an address, delete, export the bytes.
// The actions are the web page's own (src/web/actions.ts), with the OS user as the one who acted.
// Beside a running service the service does the work (its scheduler starts the pass a release or retry
// asks for); without one this process takes the state's lock and the next pass delivers.
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { isAlertsMailbox } from '../alerts/state.js';
import { createRuntime } from '../app/runtime.js';
import { askService, osUser } from '../control/client.js';
import type { ControlIo } from '../control/server.js';
import type { FilterVerdict } from '../filters/types.js';
import { describeResult } from '../filters/verdict.js';
import { Scheduler } from '../scheduler/scheduler.js';
import type { MessageRecord, MessageState } from '../store/types.js';
import { type ActionDeps, ActionError, release, remove, retry } from '../web/actions.js';
import { EXIT_CONFIG, EXIT_FAILED } from './exit.js';
import { guarded, localIo, type OpEnv } from './op-env.js';
import { sayWaiting, setup, waitMs } from './setup.js';

/** The store's page size: a longer queue is a fault to fix, and the total is always printed. */
const MAX_LISTED = 500;
/** A header block shown by `queue show` is cut here: a message's headers are rarely 10 KB. */
const MAX_SHOWN_HEADER = 64 * 1024;

export type QueueAction = 'list' | 'show' | 'retry' | 'release' | 'delete' | 'export';
const ACTIONS: readonly QueueAction[] = ['list', 'show', 'retry', 'release', 'delete', 'export'];
const LISTED_STATES = ['deferred', 'quarantined'] as const;
/** Only looking: the log stays at warn so the output is all there is. A change logs who made it. */
const READ_ONLY: readonly QueueAction[] = ['list', 'show', 'export'];

export interface QueueArgs {
  action: QueueAction;
  id?: number;
  all?: boolean;
  state?: (typeof LISTED_STATES)[number];
  json?: boolean;
  to?: string;
}

export interface QueueOptions {
  config: string;
  wait?: string;
  state?: string;
  json?: boolean;
  all?: boolean;
  to?: string;
  yes?: boolean;
}

/** The local scheduler never polls: a release or retry is delivered by the next fetch or run. */
class IdleScheduler extends Scheduler {
  override requestRun(): void {}
}

export async function queueCommand(
  action: QueueAction,
  id: string | undefined,
  o: QueueOptions,
): Promise<void> {
  const { config, logger } = setup(o.config, READ_ONLY.includes(action));
  const io = localIo(osUser());
  const args = queueArgs({ action, id, all: o.all, state: o.state, json: o.json, to: o.to });
  if (typeof args === 'string') {
    io.err(`postbote: ${args}\n`);
    process.exitCode = EXIT_CONFIG;
    return;
  }
  if (action === 'delete' && !o.yes && !(await confirm(`Delete message ${args.id} for good? [y/N] `))) {
    io.err('postbote: not deleted (add --yes to delete without asking)\n');
    process.exitCode = EXIT_CONFIG;
    return;
  }
  const remote = await askService(resolve(config.state), 'queue', { ...args });
  if (remote !== undefined) {
    process.exitCode = remote;
    return;
  }
  const runtime = await createRuntime(config, logger, {
    command: `postbote queue ${action}`,
    waitMs: waitMs(o.wait),
    onWait: sayWaiting(logger, true, o.wait),
  });
  try {
    const scheduler = new IdleScheduler(runtime.ctx, runtime.plans, config.scheduler, logger);
    process.exitCode = await queueOp({ runtime, scheduler, logger, service: false }, args, io);
  } finally {
    await runtime.close();
  }
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/** Checks a queue request (from commander or from a control client); a string says what is wrong. */
export function queueArgs(raw: Record<string, unknown>): QueueArgs | string {
  const action = raw.action as QueueAction;
  if (!ACTIONS.includes(action)) return `unknown queue action ${String(raw.action).slice(0, 40)}`;
  const args: QueueArgs = { action, json: raw.json === true };
  if (raw.state !== undefined) {
    if (!(LISTED_STATES as readonly unknown[]).includes(raw.state))
      return `--state: expected deferred or quarantined, got "${String(raw.state).slice(0, 40)}"`;
    args.state = raw.state as QueueArgs['state'];
  }
  if (raw.to !== undefined) args.to = String(raw.to).slice(0, 320);
  if (action === 'retry' && raw.all === true) {
    args.all = true;
    return args;
  }
  if (action === 'list') return args;
  const id = Number(raw.id);
  if (!Number.isSafeInteger(id) || id <= 0)
    return `${action}: expected a message ID (a number from \`postbote queue\`)${action === 'retry' ? ' or --all' : ''}`;
  args.id = id;
  return args;
}

/** The queue request, in this process or in the service. */
export async function queueOp(env: OpEnv, args: QueueArgs, io: ControlIo): Promise<number> {
  return guarded(io, async () => {
    const deps: ActionDeps = {
      store: env.runtime.store,
      spool: env.runtime.spool,
      scheduler: env.scheduler,
      now: Date.now,
      logger: env.logger,
      ...(env.wake ? { wake: env.wake } : {}),
    };
    const act = async (what: string, id: number, change: () => Promise<MessageRecord>): Promise<number> => {
      try {
        // Logged by the action itself, with the OS user, as the web page's actions are.
        const rec = await change();
        io.out(`message ${id}: ${what}; now ${rec.state}${nextStep(env, rec)}\n`);
        return 0;
      } catch (err) {
        if (!(err instanceof ActionError)) throw err;
        io.err(`postbote: ${err.message}\n`);
        return err.status === 400 ? EXIT_CONFIG : EXIT_FAILED;
      }
    };
    switch (args.action) {
      case 'list':
        return list(env, args, io);
      case 'show':
        return show(env, args.id!, args.json === true, io);
      case 'export':
        return exportMessage(env, args.id!, io);
      case 'retry': {
        if (!args.all) return act('retry requested', args.id!, () => retry(deps, args.id!, io.user));
        const { messages } = await env.runtime.store.searchMessages({
          states: ['deferred'],
          limit: MAX_LISTED,
        });
        let code = 0;
        for (const m of messages)
          code = Math.max(code, await act('retry requested', m.id, () => retry(deps, m.id, io.user)));
        if (messages.length === 0) io.out('no deferred message\n');
        return code;
      }
      case 'release': {
        const rec = await env.runtime.store.get(args.id!);
        const to = args.to ?? (rec ? soleRecipient(rec) : undefined);
        if (rec && !to) {
          io.err(
            `postbote: message ${args.id} has several recipients (${rec.recipients.map((r) => r.address).join(', ')}); say which with --to ADDRESS\n`,
          );
          return EXIT_CONFIG;
        }
        return act(`released to ${to}`, args.id!, () => release(deps, args.id!, to ?? '', io.user));
      }
      case 'delete':
        return act('deleted', args.id!, () => remove(deps, args.id!, io.user));
    }
  });
}

/**
 * Without --to a message goes back to its one recipient still open (or, when none is, its first one,
 * so the action itself says why it does not apply); with several, the admin must choose.
 */
function soleRecipient(rec: MessageRecord): string | undefined {
  const open = rec.recipients.filter((r) => r.status !== 'delivered' && r.status !== 'duplicate');
  if (open.length === 0) return rec.recipients[0]?.address;
  return open.length === 1 ? open[0]!.address : undefined;
}

function nextStep(env: OpEnv, rec: MessageRecord): string {
  if (rec.state !== 'spooled' && rec.state !== 'deferred') return '';
  if (isAlertsMailbox(rec.mailbox))
    return env.service
      ? ' (the alert watcher sends it within alerts.checkEvery)'
      : ' (sent by the alert watcher of postbote run)';
  return env.service ? ' (the service delivers it now)' : ' (delivered by the next postbote fetch or run)';
}

const time = (ms: number | null | undefined): string => {
  if (ms === null || ms === undefined) return '-';
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
};
const iso = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

async function list(env: OpEnv, args: QueueArgs, io: ControlIo): Promise<number> {
  const states: MessageState[] = args.state ? [args.state] : [...LISTED_STATES];
  const { total, messages } = await env.runtime.store.searchMessages({ states, limit: MAX_LISTED });
  if (args.json) {
    const rows = messages.map((m) => ({
      id: m.id,
      state: m.state,
      mailbox: m.mailbox,
      sender: m.sender,
      subject: m.subject,
      recipients: m.recipients.map((r) => r.address),
      since: iso(m.fetchedAt),
      updatedAt: iso(m.updatedAt),
      attempts: m.attempts,
      nextAttemptAt: iso(m.nextAttemptAt),
      reason: m.reason,
    }));
    io.out(`${JSON.stringify({ total, messages: rows }, null, 2)}\n`);
    return 0;
  }
  if (total === 0) {
    io.out(`nothing ${args.state ?? 'deferred or quarantined'}\n`);
    return 0;
  }
  io.out(
    `${total} ${args.state ?? 'deferred or quarantined'} message${total === 1 ? '' : 's'}${total > messages.length ? ` (newest ${messages.length} shown)` : ''}\n`,
  );
  for (const m of messages) {
    const next = m.state === 'deferred' ? `, next attempt ${time(m.nextAttemptAt)}` : '';
    io.out(
      `\n#${m.id} ${m.state} (mailbox ${m.mailbox}) since ${time(m.fetchedAt)}, ${m.attempts} attempt${m.attempts === 1 ? '' : 's'}${next}\n` +
        `  from ${m.sender || '<>'} to ${m.recipients.map((r) => r.address).join(', ') || '-'}: ${m.subject ?? '(no subject)'}\n` +
        `  why: ${m.reason ?? '-'}\n`,
    );
  }
  return 0;
}

async function show(env: OpEnv, id: number, json: boolean, io: ControlIo): Promise<number> {
  const rec = await env.runtime.store.get(id);
  if (!rec) {
    io.err(`postbote: message ${id} is not in the store\n`);
    return EXIT_FAILED;
  }
  const attempts = await env.runtime.store.attemptsOf(id);
  const header = rec.spoolKey
    ? (await env.runtime.spool.header(rec.spoolKey).catch(() => Buffer.alloc(0)))
        .subarray(0, MAX_SHOWN_HEADER)
        .toString('utf8')
    : '';
  if (json) {
    io.out(`${JSON.stringify({ message: rec, attempts, headers: header || null }, null, 2)}\n`);
    return 0;
  }
  const reply = (r?: { code: number | string; enhanced?: string; text: string }) =>
    r ? ` - ${r.code}${r.enhanced ? ` ${r.enhanced}` : ''} ${r.text}` : '';
  const lines = [
    `message ${rec.id}: ${rec.state} (mailbox ${rec.mailbox}, UID ${rec.uid})`,
    `  from:        ${rec.sender || '<>'}`,
    `  subject:     ${rec.subject ?? '(no subject)'}`,
    `  message-id:  ${rec.messageId ?? '-'}`,
    `  size:        ${rec.size} bytes`,
    `  fetched:     ${time(rec.fetchedAt)}; last change ${time(rec.updatedAt)}`,
    `  attempts:    ${rec.attempts}${rec.state === 'deferred' ? `, next ${time(rec.nextAttemptAt)}` : ''}`,
    `  why:         ${rec.reason ?? '-'}`,
    ...filterLines(rec.filter),
    'recipients:',
    ...rec.recipients.map((r) => `  ${r.address}: ${r.status} (${r.reason})${reply(r.reply)}`),
    'routing:',
    ...(rec.explanation?.length ? rec.explanation.map((l) => `  ${l}`) : ['  -']),
    'attempts:',
    ...(attempts.length
      ? attempts.flatMap((a) => [
          `  ${time(a.at)} ${a.outcome}: ${a.detail}`,
          ...a.recipients.map((r) => `    ${r.address}${reply(r.reply)}`),
        ])
      : ['  none yet']),
    'headers:',
    header ? header.replace(/\r?\n$/, '').replace(/^/gm, '  ') : '  (the bytes are no longer kept)',
  ];
  io.out(`${lines.join('\n')}\n`);
  return 0;
}

const DONE: Record<FilterVerdict['action'], string> = {
  deliver: 'delivered',
  redirect: 'redirected',
  quarantine: 'quarantined',
};

/** The spam/virus filter's verdict, then each scanner's own words (score/required, rules, virus, why not). */
function filterLines(v: FilterVerdict | null | undefined): string[] {
  if (!v) return ['  filter:      not filtered'];
  const verdict = v.verdict === 'unscanned' ? 'not scanned' : v.verdict;
  return [
    `  filter:      ${verdict}, ${DONE[v.action]}${v.notify ? ' (postmaster told)' : ''}`,
    ...v.results.map((r) => `    ${describeResult(r)}`),
  ];
}

async function exportMessage(env: OpEnv, id: number, io: ControlIo): Promise<number> {
  const rec = await env.runtime.store.get(id);
  if (!rec?.spoolKey) {
    io.err(
      rec
        ? `postbote: message ${id} is ${rec.state}; its bytes are no longer kept (only waiting and quarantined mail has them)\n`
        : `postbote: message ${id} is not in the store\n`,
    );
    return EXIT_FAILED;
  }
  // Never a damaged or missing copy: the local file if intact, else the shared one (postgres:// state).
  const bytes = await env.runtime.spool.ensure(rec.spoolKey, rec.size, rec.sha256);
  if (!bytes.ok) {
    io.err(`postbote: message ${id}: its bytes are missing (${bytes.why})\n`);
    return EXIT_FAILED;
  }
  for await (const chunk of env.runtime.spool.open(rec.spoolKey)) {
    io.out(chunk as Buffer);
    await io.drain();
  }
  return 0;
}
