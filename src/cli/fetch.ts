// `postbote fetch`: one pass over the mailboxes, deferred mail retried now; exit 0 only if every
// mailbox succeeded and nothing is left waiting.
import { createRuntime } from '../app/runtime.js';
import type { PassSummary } from '../connector/mailbox-pass.js';
import { isPostboteError } from '../errors.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { EXIT_FAILED, fail } from './exit.js';
import { mailboxNameError } from './mailbox-names.js';
import { Progress } from './progress.js';
import { sayWaiting, setup, waitMs } from './setup.js';

export interface FetchOptions {
  config: string;
  mailbox?: string[];
  json?: boolean;
  wait?: string;
}

export async function fetchCommand(o: FetchOptions): Promise<void> {
  const interactive = process.stderr.isTTY === true && !o.json;
  const { config, logger } = setup(o.config, interactive);
  // Before the state is locked or any server asked: a misspelt name is a usage error, said with the list.
  const wrongName = mailboxNameError(config, o.mailbox ?? [], { enabledOnly: true });
  if (wrongName) fail(wrongName);
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
    const progress = interactive ? new Progress(process.stderr) : undefined;
    const scheduler = new Scheduler(
      runtime.ctx,
      runtime.plans,
      { ...config.scheduler, onEvent: (e) => progress?.event(e) },
      logger,
    );
    const summaries = await scheduler.runAll(o.mailbox);
    await scheduler.stop();
    progress?.done();
    if (o.json) console.log(JSON.stringify(toJson(summaries, runtime.target.health), null, 2));
    else printSummary(summaries);
    if (!summaries.every((s) => s.ok && s.pending === 0)) process.exitCode = EXIT_FAILED;
  } finally {
    await runtime.close();
  }
}

function toJson(summaries: PassSummary[], target: { state: string; error?: { toJSON(): unknown } }) {
  return {
    ok: summaries.every((s) => s.ok && s.pending === 0),
    target: { state: target.state, error: target.error?.toJSON() },
    mailboxes: summaries.map((s) => ({ ...s, error: s.error?.toJSON() })),
  };
}

function printSummary(summaries: PassSummary[]): void {
  for (const s of summaries) {
    const secs = ((s.endedAt - s.startedAt) / 1000).toFixed(1);
    const mb = (s.bytes / 1048576).toFixed(1);
    const verdict = s.ok ? (s.pending === 0 ? 'ok' : 'pending') : 'FAILED';
    console.log(
      `${s.mailbox}: ${verdict} - ${s.listed} on server, ${s.fetched} fetched (${mb} MB), ${s.delivered} delivered, ` +
        `${s.deferred} deferred, ${s.quarantined} quarantined, ${s.removed} removed, ${s.pending} waiting (${secs} s)`,
    );
    if (s.error) console.log(`  ${s.error.describe()}`);
  }
}
