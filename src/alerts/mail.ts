// The postmaster's alert, recovery and digest mails: plain text, from the null sender, queued like a
// postmaster notice (src/delivery/notice.ts), so one about a target that is down waits for its return.
import { randomBytes } from 'node:crypto';
import { rfc5322Date } from '../delivery/received.js';
import { encodeHeaderField } from '../message/encoded-word.js';
import type { MessageRecord } from '../store/types.js';
import type { ActiveAlert } from './conditions.js';

// Quarantined messages listed one by one in a digest; beyond, only counted (a mail people read).
export const DIGEST_MAX_LISTED = 200;

export function mailText(hostname: string, now: Date, subject: string, lines: string[]): Buffer {
  const id = `${now.getTime().toString(36)}.${randomBytes(6).toString('hex')}@${hostname}`;
  const head = [
    `From: Postbote <postmaster@${hostname}>`,
    encodeHeaderField('Subject', subject),
    `Date: ${rfc5322Date(now)}`,
    `Message-ID: <${id}>`,
    'Auto-Submitted: auto-generated',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
  ];
  return Buffer.from(`${head.join('\r\n')}\r\n\r\n${lines.join('\r\n')}\r\n`, 'utf8');
}

export function alertSubject(alert: ActiveAlert, cleared: boolean): string {
  return `[Postbote] ${cleared ? 'RESOLVED' : 'ALERT'}: ${alert.title}`;
}

export function alertLines(
  hostname: string,
  alert: ActiveAlert & { clearedAt?: number },
  cleared: boolean,
): string[] {
  return cleared
    ? [
        `Postbote on ${hostname}: resolved: ${alert.title}.`,
        '',
        `  Since:    ${new Date(alert.since).toISOString()}`,
        `  Resolved: ${new Date(alert.clearedAt ?? Date.now()).toISOString()}`,
        `  Last:     ${alert.detail}`,
      ]
    : [
        `Postbote on ${hostname}: ${alert.title}.`,
        '',
        `  Since: ${new Date(alert.since).toISOString()}`,
        `  ${alert.detail}`,
        '',
        'You get one more mail when it is resolved; the web admin shows active alerts on its dashboard.',
      ];
}

/** The daily digest: what was quarantined since `since`, counted per reason, then listed. */
export function digestLines(
  hostname: string,
  quarantined: MessageRecord[],
  total: number,
  since: number,
  now: number,
): string[] {
  const byReason = new Map<string, number>();
  for (const r of quarantined) {
    const why = r.reason ?? 'no reason recorded';
    byReason.set(why, (byReason.get(why) ?? 0) + 1);
  }
  const lines = [
    `Postbote on ${hostname}: ${total} message(s) quarantined from ${new Date(since).toISOString()} to ${new Date(now).toISOString()}.`,
  ];
  if (total === 0) return [...lines, '', 'Nothing was quarantined.'];
  lines.push('', 'By reason:');
  for (const [why, n] of [...byReason].sort((a, b) => b[1] - a[1])) lines.push(`  ${n} × ${why}`);
  lines.push('', 'Messages:');
  for (const r of quarantined.slice(0, DIGEST_MAX_LISTED)) {
    lines.push(
      `  #${r.id} [${r.mailbox}] from <${r.sender}>: ${r.subject ?? '(no subject)'}`,
      `      ${r.reason ?? 'no reason recorded'}`,
    );
  }
  if (total > Math.min(quarantined.length, DIGEST_MAX_LISTED))
    lines.push(`  … and ${total - Math.min(quarantined.length, DIGEST_MAX_LISTED)} more`);
  lines.push('', 'Release or delete them in the web admin (Queue → Quarantine).');
  return lines;
}
