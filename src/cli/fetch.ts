// `postbote fetch`: one pass over the mailboxes, deferred mail retried now; exit 0 only if every
// mailbox succeeded and nothing is left waiting. Beside a running service the service does the pass
// (its scheduler, never a second session beside it) and this process prints what it reports.
import { createRuntime } from '../app/runtime.js';
import type { PassSummary } from '../connector/mailbox-pass.js';
import { askService, controlDir, osUser } from '../control/client.js';
import type { ControlIo } from '../control/server.js';
import { isPostboteError } from '../errors.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { EXIT_CONFIG, EXIT_FAILED, EXIT_IN_USE, fail } from './exit.js';
import { mailboxNameError } from './mailbox-names.js';
import { localIo, type OpEnv } from './op-env.js';
import { Progress } from './progress.js';
import { sayWaiting, setup, waitMs } from './setup.js';

export interface FetchOptions {
  config: string;
  mailbox?: string[];
  json?: boolean;
  wait?: string;
}

export interface FetchArgs {
  mailbox?: string[];
  json?: boolean;
}

export async function fetchCommand(o: FetchOptions): Promise<void> {
  const interactive = process.stderr.isTTY === true && !o.json;
  const { config, logger } = setup(o.config, interactive);
  // Before the state is locked or any server asked: a misspelt name is a usage error, said with the list.
  const wrongName = mailboxNameError(config, o.mailbox ?? [], { enabledOnly: true });
  if (wrongName) fail(wrongName);
  const args: FetchArgs = { mailbox: o.mailbox, json: o.json };
  const remote = await askService(controlDir(config), 'fetch', { ...args }, undefined, interactive);
  if (remote !== undefined) {
    process.exitCode = remote;
    return;
  }
  const runtime = await createRuntime(config, logger, {
    command: 'postbote fetch',
    waitMs: waitMs(o.wait),
    onWait: sayWaiting(logger, interactive, o.wait),
  }).catch((err: unknown) => {
    // A script reading --json gets its answer on stdout even when the state was busy (exit 3).
    if (o.json && isPostboteError(err) && err.code === 'STATE_IN_USE')
      console.log(JSON.stringify({ ok: false, error: err.toJSON() }, null, 2));
    throw err;
  });
  try {
    const scheduler = new Scheduler(
      runtime.ctx,
      runtime.plans,
      { ...config.scheduler, leases: runtime.leases },
      logger,
    );
    const env: OpEnv = { runtime, scheduler, logger, service: false };
    process.exitCode = await fetchOp(env, args, localIo(osUser(), interactive));
    await scheduler.stop();
  } finally {
    await runtime.close();
  }
}

/** Checks the arguments a control client sent (a local caller's come from commander). */
export function fetchArgs(raw: Record<string, unknown>): FetchArgs {
  const m = raw.mailbox;
  const mailbox = Array.isArray(m)
    ? m.filter((x): x is string => typeof x === 'string').slice(0, 1000)
    : undefined;
  return { mailbox, json: raw.json === true };
}

/** The pass and its report, in this process or in the service. */
export async function fetchOp(env: OpEnv, args: FetchArgs, io: ControlIo): Promise<number> {
  const names = env.scheduler.statuses().map((s) => s.name);
  const unknown = (args.mailbox ?? []).filter((n) => !names.includes(n));
  if (unknown.length > 0) {
    io.err(`postbote: no enabled mailbox named ${unknown.join(', ')}\n`);
    return EXIT_CONFIG;
  }
  const wanted = args.mailbox && args.mailbox.length > 0 ? args.mailbox : undefined;
  const progress = io.interactive && !args.json ? new Progress({ write: (t) => io.err(t) }) : undefined;
  const unwatch = env.scheduler.watch({
    onEvent: (e) => {
      if (!wanted || wanted.includes(e.mailbox)) progress?.event(e);
    },
  });
  let summaries: PassSummary[];
  try {
    summaries = env.service ? await passesNow(env, wanted ?? names) : await env.scheduler.runAll(wanted);
  } finally {
    unwatch();
  }
  progress?.done();
  if (args.json) io.out(`${JSON.stringify(toJson(summaries, env.runtime.target.health), null, 2)}\n`);
  else printSummary(summaries, io);
  if (summaries.every((s) => s.ok && s.pending === 0)) return 0;
  // Held by another instance sharing the database (and all else fine): busy, as a state in use.
  return summaries.every((s) => s.heldBy !== undefined || (s.ok && s.pending === 0))
    ? EXIT_IN_USE
    : EXIT_FAILED;
}

/**
 * In the service: a pass of each mailbox now, deferred mail included (the web page's "fetch now"). A
 * pass already running may have started before deferred mail was due, so it is awaited and followed
 * by one of our own.
 */
async function passesNow(env: OpEnv, names: string[]): Promise<PassSummary[]> {
  return Promise.all(
    names.map(async (name) => {
      if (env.scheduler.busy(name)) await env.scheduler.runNow(name).catch(() => undefined);
      return env.scheduler.runNow(name, true);
    }),
  );
}

function toJson(summaries: PassSummary[], target: { state: string; error?: { toJSON(): unknown } }) {
  return {
    ok: summaries.every((s) => s.ok && s.pending === 0),
    target: { state: target.state, error: target.error?.toJSON() },
    mailboxes: summaries.map((s) => ({ ...s, error: s.error?.toJSON() })),
  };
}

function printSummary(summaries: PassSummary[], io: ControlIo): void {
  for (const s of summaries) {
    const secs = ((s.endedAt - s.startedAt) / 1000).toFixed(1);
    const mb = (s.bytes / 1048576).toFixed(1);
    if (s.heldBy !== undefined) {
      io.out(`${s.mailbox}: skipped - held by instance ${s.heldBy}, which fetches it (shared database)\n`);
      continue;
    }
    const verdict = s.ok ? (s.pending === 0 ? 'ok' : 'pending') : 'FAILED';
    io.out(
      `${s.mailbox}: ${verdict} - ${s.listed} on server, ${s.fetched} fetched (${mb} MB), ${s.delivered} delivered, ` +
        `${s.deferred} deferred, ${s.quarantined} quarantined, ${s.removed} removed, ${s.pending} waiting (${secs} s)\n`,
    );
    if (s.error) io.out(`  ${s.error.describe()}\n`);
  }
}
