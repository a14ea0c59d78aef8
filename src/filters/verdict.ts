// From scanner results to a verdict: what the message is (clean, spam, virus, unscanned), what is done
// with it, and the header fields delivery puts on it. Pure: tested table-driven.
import type { FiltersConfig } from '../config/types.js';
import type { FilterVerdict, HeaderEdits, ScanResult, VerdictKind } from './types.js';

/**
 * Fields that only Postbote's own scan may set: removed from every filtered message, so a sender cannot
 * pre-set "X-Spam-Status: No" or "X-Virus-Status: Clean" for rules further down to trust.
 */
export const SCAN_HEADERS = [
  'x-spam-flag',
  'x-spam-status',
  'x-spam-score',
  'x-spam-level',
  'x-spam-report',
  'x-spam-checker-version',
  'x-virus-status',
  'x-virus-scanned',
  'x-postbote-filter',
] as const;

// 40 rule names keep X-Spam-Status readable (SpamAssassin lists all; rspamd often reports 10–20).
const MAX_TESTS_LISTED = 40;

export function decide(results: ScanResult[], config: FiltersConfig, at: number): FilterVerdict {
  const scanned = results.filter((r) => r.status !== 'skipped');
  const infected = scanned.find((r) => r.status === 'infected');
  const spam = scanned.find((r) => r.status === 'spam');
  const skipped = results.filter((r) => r.status === 'skipped');
  let verdict: VerdictKind = 'clean';
  if (infected) verdict = 'virus';
  else if (spam) verdict = 'spam';
  else if (skipped.length > 0) verdict = 'unscanned';

  let action: FilterVerdict['action'] = 'deliver';
  if (verdict === 'virus') action = 'quarantine';
  else if (verdict === 'spam' && config.spam.action !== 'tag') action = config.spam.action;

  const edits: HeaderEdits = { add: headers(results), remove: [...SCAN_HEADERS] };
  if (verdict === 'spam' && config.spam.subjectPrefix) edits.subjectPrefix = config.spam.subjectPrefix;

  const done =
    action === 'quarantine'
      ? 'quarantined'
      : action === 'redirect'
        ? `redirected to ${config.spam.redirectTo}`
        : 'delivered';
  return {
    verdict,
    action,
    results,
    edits,
    summary: `${verdict} (${results.map(describeResult).join('; ')}): ${done}`,
    notify: verdict === 'virus' && config.virus.action === 'notify',
    at,
  };
}

export function describeResult(r: ScanResult): string {
  if (r.status === 'skipped') return `${r.scanner}: not scanned, ${r.reason}`;
  if (r.status === 'infected') return `${r.scanner}: ${r.virus}`;
  if (r.type === 'clamd') return `${r.scanner}: clean`;
  const action = r.action ? `, ${r.action}` : '';
  const tests = r.status === 'spam' && r.symbols?.length ? `, ${r.symbols.slice(0, 5).join(' ')}` : '';
  return `${r.scanner}: ${r.status} ${fmt(r.score)}/${fmt(r.required)}${action}${tests}`;
}

/** X-Spam-* in SpamAssassin's format, X-Virus-Status as clamav-milter writes it, and a mark when unscanned. */
function headers(results: ScanResult[]): string[] {
  const out: string[] = [];
  const spamResults = results.filter((r) => r.type !== 'clamd' && r.status !== 'skipped');
  const first = spamResults.find((r) => r.status === 'spam') ?? spamResults[0];
  if (first && first.status !== 'skipped') {
    const isSpam = first.status === 'spam';
    const tests = (first.symbols ?? []).slice(0, MAX_TESTS_LISTED).map(safe).join(',') || 'none';
    if (isSpam) out.push('X-Spam-Flag: YES\r\n');
    out.push(
      fold(
        `X-Spam-Status: ${isSpam ? 'Yes' : 'No'}, score=${fmt(first.score)} required=${fmt(first.required)} tests=${tests} scanner=${first.type}`,
      ),
    );
    out.push(`X-Spam-Score: ${fmt(first.score)}\r\n`);
  }
  const av = results.find((r) => r.type === 'clamd' && r.status !== 'skipped');
  if (av && av.status !== 'skipped') {
    out.push(
      av.status === 'infected'
        ? `X-Virus-Status: Infected (${safe(av.virus ?? '')})\r\n`
        : 'X-Virus-Status: Clean\r\n',
    );
  }
  for (const r of results) {
    if (r.status === 'skipped')
      out.push(fold(`X-Postbote-Filter: not scanned by ${r.scanner}: ${safe(r.reason)}`));
  }
  return out;
}

function fmt(n: number | undefined): string {
  return n === undefined || Number.isNaN(n) ? '?' : n.toFixed(1);
}

/** Scanner words go into a header: printable ASCII only, no line breaks. */
function safe(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}

/** Folds a field at commas or spaces so no line exceeds 78 characters (RFC 5322 2.1.1), with CRLF. */
export function fold(field: string): string {
  const words = field.split(/(?<=[, ])/);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line.length > 0 && line.length + w.length > 76) {
      lines.push(line.trimEnd());
      line = `\t${w.trimStart()}`;
    } else line += w;
  }
  lines.push(line.trimEnd());
  return `${lines.join('\r\n')}\r\n`;
}
