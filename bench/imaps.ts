// Issue 14: the mixed corpus fetched by Postbote over IMAPS from the same private Dovecot, beside the
// same corpus over POP3S in the same round, and fetchmail over IMAPS (fetchlimit, as for POP3).
import { type Bench, type Corpus, fetchmailRun, postboteRun, type Scenario } from './contenders.js';

export const IMAPS_POSTBOTE_OVER_POP3S = 'postbote, POP3S';

export async function imapsScenario(
  b: Bench,
  s: Scenario,
  opts: { name: string; corpus: Corpus; imaps: number; pop3s: number; fetchmailLimit: number },
): Promise<void> {
  const { name, corpus } = opts;
  const concurrency = corpus.boxes.size;
  b.log(`\n== ${name}: IMAPS (BODY.PEEK[] windows, UID EXPUNGE) beside POP3S, same Dovecot → smtp-sink`);
  await s.rounds(async () => {
    if (s.runs('postbote')) {
      s.report.add(await postboteRun(b, name, corpus, { port: opts.imaps, concurrency, protocol: 'imap' }));
      // The POP3S figure of the same round, so the two protocols meet the same machine load.
      s.report.add(
        await postboteRun(b, name, corpus, {
          port: opts.pop3s,
          concurrency,
          contender: IMAPS_POSTBOTE_OVER_POP3S,
        }),
      );
    }
    if (s.runs('fetchmail'))
      s.report.add(
        await fetchmailRun(b, name, corpus, {
          port: opts.imaps,
          limit: opts.fetchmailLimit,
          nodelay: false,
          proto: 'imap',
          contender: 'fetchmail, IMAPS',
        }),
      );
  });
  s.report.notes.push(
    `${name}: the "postbote" row fetches over IMAPS; "Postbote ÷ this" on the "${IMAPS_POSTBOTE_OVER_POP3S}" ` +
      'row is IMAPS msgs/s over POP3S msgs/s, same rounds.',
  );
}
