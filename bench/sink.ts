// Postfix's smtp-sink as the shared receiving side: a fast C sink that both Postbote and fetchmail
// deliver to. With -d it dumps each message to its own file, which the bench then checks against
// the corpus: every message exactly once, content identical (modulo smtp-sink's LF line ends).
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { freePort, waitForPort } from '../test/support/ports.js';
import { type BenchMessage, comparable, fingerprint } from './corpus.js';

const SMTP_SINK = '/usr/sbin/smtp-sink';
// Marks the start of every dumped message (smtp-sink's -S, octal escape understood by smtp-sink).
const START = '\\001BENCH-MSG\\n';
const TAG = Buffer.from('\nX-Bench-Id: ');

export interface Verdict {
  expected: number;
  received: number;
  intact: number;
  missing: number;
  duplicated: number;
  corrupted: number;
  unknown: number;
  ok: boolean;
}

export class Sink {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly dumpDir: string,
  ) {}

  /** Starts smtp-sink on a free loopback port, dumping into `dumpDir` (best on tmpfs). */
  static async start(dumpDir: string): Promise<Sink> {
    mkdirSync(dumpDir, { recursive: true });
    chmodSync(dumpDir, 0o1777); // smtp-sink writes as nobody
    const port = await freePort();
    const child = spawn(
      SMTP_SINK,
      ['-u', 'nobody', '-c', '-S', START, '-d', `${dumpDir}/m.`, `127.0.0.1:${port}`, '1024'],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    await waitForPort(port, '127.0.0.1', 10_000);
    return new Sink(port, child, dumpDir);
  }

  /** Forgets what was dumped, for the next run. */
  clear(): void {
    for (const f of readdirSync(this.dumpDir)) rmSync(path.join(this.dumpDir, f), { force: true });
  }

  /**
   * Checks every dumped message against `expected`: each exactly once, identical content. With
   * `subset`, only that many of them were to be moved (fetchmail's fetchlimit): the rest may be absent.
   */
  verify(expected: BenchMessage[], subset?: number): Verdict {
    const want = new Map(expected.map((m) => [m.id, fingerprint(m.data)]));
    const seen = new Map<string, number>();
    let corrupted = 0;
    let unknown = 0;
    let received = 0;
    for (const f of readdirSync(this.dumpDir)) {
      const dump = readFileSync(path.join(this.dumpDir, f));
      received++;
      const at = dump.indexOf(TAG);
      if (at < 0) {
        unknown++;
        continue;
      }
      const content = dump.subarray(at + 1);
      const idEnd = content.indexOf(0x0a);
      const id = content.toString('latin1', TAG.length - 1, idEnd).trim();
      const fp = want.get(id);
      if (fp === undefined) {
        unknown++;
        continue;
      }
      seen.set(id, (seen.get(id) ?? 0) + 1);
      let end = content.length;
      while (end > 0 && content[end - 1] === 0x0a) end--;
      if (
        createHash('sha256')
          .update(comparable(content.subarray(0, end)))
          .digest('hex') !== fp
      )
        corrupted++;
    }
    const duplicated = [...seen.values()].reduce((n, c) => n + (c > 1 ? c - 1 : 0), 0);
    const missing = (subset ?? expected.length) - seen.size;
    const intact = received - corrupted - unknown - duplicated;
    const ok = missing === 0 && duplicated === 0 && corrupted === 0 && unknown === 0;
    return {
      expected: subset ?? expected.length,
      received,
      intact,
      missing,
      duplicated,
      corrupted,
      unknown,
      ok,
    };
  }

  /** Messages dumped so far (the last one possibly still being written): cheap, for polling. */
  count(): number {
    return readdirSync(this.dumpDir).length;
  }

  /** X-Bench-Id values of the messages dumped so far. */
  receivedIds(): Set<string> {
    const ids = new Set<string>();
    for (const f of readdirSync(this.dumpDir)) {
      const dump = readFileSync(path.join(this.dumpDir, f));
      const at = dump.indexOf(TAG);
      if (at < 0) continue;
      const end = dump.indexOf(0x0a, at + 1);
      ids.add(dump.toString('latin1', at + TAG.length, end).trim());
    }
    return ids;
  }

  /**
   * Dumps whose fields above the message (what the client added: Received, the filter's X-Spam-* and
   * X-Virus-Status) match every one of `patterns`: proves a filtered run scanned what it delivered.
   */
  countAdded(patterns: RegExp[]): number {
    let n = 0;
    for (const f of readdirSync(this.dumpDir)) {
      const dump = readFileSync(path.join(this.dumpDir, f));
      const at = dump.indexOf(TAG);
      if (at < 0) continue;
      const added = dump.toString('latin1', 0, at);
      if (patterns.every((p) => p.test(added))) n++;
    }
    return n;
  }

  stop(): void {
    this.child.kill('SIGTERM');
    rmSync(this.dumpDir, { recursive: true, force: true });
  }
}

export function describeVerdict(v: Verdict): string {
  if (v.ok) return `${v.received}/${v.expected} intact, once each`;
  return (
    `FAILED: ${v.received} received of ${v.expected}; missing ${v.missing}, duplicated ${v.duplicated}, ` +
    `corrupted ${v.corrupted}, unknown ${v.unknown}`
  );
}
