// The kill -9 loop of the crash suites: a corpus whose messages can be told apart by Message-ID, a
// `postbote fetch` child killed at random moments mid-pass (restarted each time), and the count of
// what reached the receiver: losses must be 0, duplicates come only from a kill between the target's
// 250 and the store's commit (at most one per kill).
import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI, ROOT } from '../e2e/helpers.js';
import type { Receiver } from './smtp-receiver.js';

export interface CrashCorpus {
  /** `<${prefix}-${i}@example.net>` */
  prefix: string;
  count: number;
  /** Every `bigEvery`-th message is `bigSize` bytes, so kills land in long transfers too. */
  bigEvery: number;
  bigSize: number;
}

export function crashCorpus(c: CrashCorpus): Buffer[] {
  return Array.from({ length: c.count }, (_, i) => {
    const size = i % c.bigEvery === 0 ? c.bigSize : 2_000 + ((i * 7919) % 20_000);
    const line = `line of message ${i} `.padEnd(76, 'x');
    return Buffer.from(
      `From: s${i}@example.net\r\nTo: crash@example.com\r\nSubject: ${c.prefix} ${i}\r\n` +
        `Message-ID: <${c.prefix}-${i}@example.net>\r\n\r\n${`${line}\r\n`.repeat(Math.ceil(size / 78))}`,
    );
  });
}

export function startFetch(config: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', CLI, 'fetch', '-c', config], {
    cwd: ROOT,
    env: { ...process.env, POSTBOTE_LOG_LEVEL: 'silent' },
    stdio: 'ignore',
  });
}

/**
 * Runs `fetch` again and again, killing each run with SIGKILL mid-pass: once it delivered two
 * messages (at most one comes from the spool before the provider is asked, so login and listing are
 * behind it), at a random moment within the next 250 ms. Stops after `kills` kills or when a run
 * finishes with exit 0 (everything delivered). Returns the kills that landed.
 */
export async function killLoop(
  config: string,
  receiver: Receiver,
  kills: number,
  seed: number,
): Promise<number> {
  let landed = 0;
  let rng = seed;
  const random = () => {
    rng = (rng * 1103515245 + 12345) % 2 ** 31;
    return rng / 2 ** 31;
  };
  for (let attempt = 0; landed < kills && attempt < 3 * kills; attempt++) {
    const child = startFetch(config);
    let finished = false;
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => {
        finished = true;
        resolve(code);
      }),
    );
    const before = receiver.received.length;
    while (!finished && receiver.received.length < before + 2) await sleep(10);
    await Promise.race([exited, sleep(random() * 250)]);
    if (finished) {
      if ((await exited) === 0) break;
      // Refused, typically [IN-USE]: Dovecot has not yet noticed that the last killed session is gone.
      await sleep(500);
      continue;
    }
    child.kill('SIGKILL');
    await exited;
    landed++;
  }
  return landed;
}

/** How many of the corpus' messages the receiver never got, and how many it got more than once. */
export function deliveryCount(receiver: Receiver, c: Pick<CrashCorpus, 'prefix' | 'count'>) {
  const seen = new Map<string, number>();
  for (const m of receiver.received) {
    const id = /^Message-ID: (<[^>]+>)/im.exec(m.raw.subarray(0, 4096).toString())?.[1] ?? '?';
    seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  let losses = 0;
  for (let i = 0; i < c.count; i++) if (!seen.has(`<${c.prefix}-${i}@example.net>`)) losses++;
  const duplicates = [...seen.values()].reduce((n, count) => n + count - 1, 0);
  return { losses, duplicates };
}
