// Issue 16: what the filters cost. The mixed corpus (or its first mailboxes) fetched over POP3S with
// private rspamd and clamd in front of the sink (test/support/scanners.ts, settings as shipped:
// spam tagged, 4 messages per scanner at once), against the same run without filters, same rounds.
import { scannersUnavailable, startClamd, startRspamd } from '../test/support/scanners.js';
import { allMessages, type Bench, type Corpus, postboteRun, type Scenario } from './contenders.js';

export const NO_FILTERS = 'postbote, no filters';
// Debian's clamd default: the 0.2–2 MB attachments of the corpus are scanned, not passed as too large
// (the test harness's 1M would let the largest through unscanned and flatter the figure).
const CLAMD_STREAM_MAX = '25M';
// What a scanned, delivered message carries above its own header (verdict.ts): proof that both
// scanners looked at it, not that it slipped through as "not scanned".
const SCANNED = [/^X-Spam-Status: (?:Yes|No), score=/m, /^X-Virus-Status: Clean/m];

export async function filtersScenario(
  b: Bench,
  s: Scenario,
  opts: { name: string; corpus: Corpus; pop3s: number },
): Promise<void> {
  const { name, corpus } = opts;
  const why = scannersUnavailable();
  if (why) throw new Error(`${name}: cannot start rspamd and clamd: ${why}`);
  const concurrency = corpus.boxes.size;
  const expected = allMessages(corpus).length;
  b.log(`\n== ${name}: POP3S → rspamd + clamd → smtp-sink, against the same without filters`);
  const [rspamd, clamd] = await Promise.all([
    startRspamd(),
    startClamd({ streamMaxLength: CLAMD_STREAM_MAX }),
  ]);
  try {
    const filters = { rspamdPort: rspamd.port, clamdPort: clamd.port };
    await s.rounds(async () => {
      if (!s.runs('postbote')) return;
      const run = await postboteRun(b, name, corpus, { port: opts.pop3s, concurrency, filters });
      const scanned = b.sink.countAdded(SCANNED);
      run.verified += `; ${scanned} scanned by rspamd and clamd`;
      if (scanned !== expected) run.ok = false;
      b.log(`  ${''.padEnd(18)} ${scanned}/${expected} carry both scanners' verdicts`);
      s.report.add(run);
      s.report.add(
        await postboteRun(b, name, corpus, { port: opts.pop3s, concurrency, contender: NO_FILTERS }),
      );
    });
  } finally {
    await Promise.all([rspamd.stop(), clamd.stop()]);
  }
  const withF = s.report.row(name, 'postbote');
  const without = s.report.row(name, NO_FILTERS);
  if (withF && without)
    s.report.notes.push(
      `${name}: the "postbote" row scans with rspamd and clamd; "Postbote ÷ this" on the "${NO_FILTERS}" row ` +
        `is the throughput kept with filters on. Whole-machine CPU s (scanners, Dovecot, sink included): ` +
        `${withF.machineCpu.toFixed(1)} with filters, ${without.machineCpu.toFixed(1)} without.`,
    );
}
