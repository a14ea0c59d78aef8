// `postbote check`: prints a verdict for the store (its database and schema version), per mailbox and for
// the target, with a fix for each failure.
import { checkMailbox, checkState, checkTarget } from '../app/check.js';
import { checkFilters } from '../filters/check.js';
import { EXIT_FAILED } from './exit.js';
import { setup } from './setup.js';

export async function checkCommand(o: { config: string; json?: boolean }): Promise<void> {
  const { config, logger } = setup(o.config, true);
  const results = [
    await checkState(config),
    ...(await Promise.all(config.mailboxes.filter((m) => m.enabled).map((m) => checkMailbox(m, logger)))),
    ...(await checkTarget(config, logger)),
    ...(await checkFilters(config)),
  ];
  if (o.json) {
    console.log(JSON.stringify({ ok: results.every((r) => r.ok), results }, null, 2));
  } else {
    for (const r of results) {
      console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.subject}: ${r.detail}`);
      if (!r.ok && r.hint && !r.detail.includes(r.hint)) console.log(`     fix: ${r.hint}`);
    }
  }
  if (!results.every((r) => r.ok)) process.exitCode = EXIT_FAILED;
}
