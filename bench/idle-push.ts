// The idle-push scenario: how long new mail takes from the provider to the target with IMAP IDLE.
// `postbote run` watches one IMAPS mailbox of a private Dovecot (interval 1 h, so only push can bring
// mail in time); messages are written into its Maildir one at a time (tmp/ then rename into new/, as an
// MDA does) at random intervals, and each is timed from the rename to the target's end of DATA.
// Alone: `node --import tsx bench/idle-push.ts [--count N]`; prints median, 99th percentile and max.
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { makeMessage } from '../test/support/corpus.js';
import { startDovecot } from '../test/support/dovecot.js';
import { makeTempDir } from '../test/support/ports.js';
import { startReceiver } from '../test/support/smtp-receiver.js';

const ROOT = path.join(import.meta.dirname, '..');
/** The figure: new mail at the target within 2 s of reaching the server. */
export const PUSH_TARGET_MS = 2_000;
/** Random gap between two messages: spread so a message meets IDLE in every phase, not only right after a pass. */
const GAP_MIN_MS = 100;
const GAP_MAX_MS = 1_000;
/** A message not delivered by then counts as lost for the bench (push broken), and the run fails. */
const LOST_AFTER_MS = 30_000;

export interface PushResult {
  count: number;
  medianMs: number;
  p99Ms: number;
  maxMs: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export async function idlePushRun(
  count: number,
  log: (line: string) => void = console.log,
): Promise<PushResult> {
  const tmp = await makeTempDir('postbote-idle-push');
  const dovecot = await startDovecot({ users: ['push'], name: 'idle-push' });
  const receiver = await startReceiver();
  let child: ChildProcess | undefined;
  try {
    const file = path.join(tmp.path, 'postbote.yaml');
    await writeFile(
      file,
      `state: ${tmp.path}/state
log: { file: ${tmp.path}/postbote.log, level: warn }
target: { host: 127.0.0.1, port: ${receiver.port}, tls: none, helo: postbote.bench }
scheduler: { interval: 1h }
mailboxes:
  - name: push
    protocol: imap
    host: localhost
    port: ${dovecot.ports.imaps}
    tls: tls
    ca: ${dovecot.caFile}
    user: push
    password: ${dovecot.password('push')}
    deliverTo: [push@corp.local]
`,
    );
    child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'run', '-c', file],
      {
        cwd: ROOT,
        stdio: 'ignore',
      },
    );
    // The start poll and the watcher's first IDLE: one message through before measuring.
    await dovecot.seed('push', [makeMessage({ size: 1000, seed: 0, subject: 'warm-up' })]);
    await receiver.waitFor(1, LOST_AFTER_MS);
    const latencies: number[] = [];
    for (let i = 1; i <= count; i++) {
      await delay(GAP_MIN_MS + Math.random() * (GAP_MAX_MS - GAP_MIN_MS));
      const data = makeMessage({ size: 2000, seed: i, subject: `push ${i}` });
      const before = receiver.received.length;
      const at = Date.now();
      await dovecot.seed('push', [data]);
      await receiver.waitFor(before + 1, LOST_AFTER_MS);
      latencies.push(receiver.received[before]!.at - at);
      if (i % 50 === 0) log(`  ${i}/${count} delivered`);
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      count,
      medianMs: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted.at(-1) ?? Number.NaN,
    };
  } finally {
    child?.kill('SIGTERM');
    await receiver.stop();
    await dovecot.stop();
    await tmp.remove();
  }
}

if (process.argv[1] === import.meta.filename) {
  const i = process.argv.indexOf('--count');
  const count = i > 0 ? Number(process.argv[i + 1]) : 200;
  console.log(`== idle-push: ${count} messages into Dovecot's Maildir, one at a time, IMAPS IDLE → SMTP`);
  const r = await idlePushRun(count);
  const ok = r.p99Ms <= PUSH_TARGET_MS;
  console.log(
    `median ${r.medianMs} ms, 99th percentile ${r.p99Ms} ms, max ${r.maxMs} ms over ${r.count} messages` +
      ` (target: within ${PUSH_TARGET_MS} ms: ${ok ? 'met' : 'NOT met'})`,
  );
  process.exitCode = ok ? 0 : 1;
}
