// `postbote check` for the filters: every configured scanner (global and per mailbox, each endpoint
// once) is given a small harmless message, so a scanner that is down or misconfigured shows before
// real mail waits for it.
import { Readable } from 'node:stream';
import type { CheckResult } from '../app/check.js';
import type { Config, FiltersConfig } from '../config/types.js';
import { isPostboteError, toPostboteError } from '../errors.js';
import { scannerWhere, scanOne } from './scan.js';
import { describeResult } from './verdict.js';

const PROBE = Buffer.from(
  'From: postbote-check@localhost\r\nTo: postbote-check@localhost\r\nSubject: postbote check\r\n' +
    'Message-ID: <postbote-check@localhost>\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\n\r\n' +
    'A probe from postbote check: the scanner answers.\r\n',
);

export async function checkFilters(config: Pick<Config, 'filters' | 'mailboxes'>): Promise<CheckResult[]> {
  const sections = [
    config.filters,
    ...config.mailboxes.filter((m) => m.enabled).map((m) => m.filters),
  ].filter((f): f is FiltersConfig => f !== undefined);
  const seen = new Set<string>();
  const results: CheckResult[] = [];
  for (const section of sections) {
    for (const scanner of section.scanners) {
      const subject = `scanner ${scannerWhere(scanner)}`;
      if (seen.has(subject)) continue;
      seen.add(subject);
      try {
        const r = await scanOne(
          scanner,
          {
            open: () => Readable.from([PROBE]),
            size: PROBE.length,
            envelope: { from: 'postbote-check@localhost', rcpt: [] },
          },
          section.timeout,
        );
        results.push({ subject, ok: true, detail: `answered: ${describeResult(r)}` });
      } catch (err) {
        const e = isPostboteError(err) ? err : toPostboteError(err, subject);
        results.push({
          subject,
          ok: false,
          // The subject names the scanner already: not again in front of its error.
          detail: e.describe({ where: false }),
          hint:
            scanner.onError === 'defer'
              ? 'mail waits while it is down (onError: defer): start it, or fix host/port/socket'
              : 'mail is delivered unscanned while it is down (onError: deliver): start it, or fix host/port/socket',
        });
      }
    }
  }
  return results;
}
