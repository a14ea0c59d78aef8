// What is wrong now, as observations for the alert step: pure functions of what the watcher gathered
// (scheduler statuses, the target's health, scanner probes, statfs, the quarantine count, certificates).
import type { MailboxStatus } from '../scheduler/scheduler.js';
import type { Observation } from './conditions.js';

const DAY_MS = 86_400_000;
const GB = 1024 ** 3;

export interface AlertLimits {
  after: number;
  quarantineAbove: number;
  certificateDays: number;
  disk: { usedPercent: number; minFree: number };
}

/** A mailbox whose polls fail (since its first failing pass in a row). */
export function mailboxObservations(statuses: MailboxStatus[], after: number): Observation[] {
  const out: Observation[] = [];
  for (const s of statuses) {
    if (s.state !== 'failing' || !s.last || s.last.ok) continue;
    const error = s.last.error;
    // A pass stopped by the target or a scanner is not the mailbox's fault: those have their own alerts.
    if (error?.code === 'FILTER_UNAVAILABLE' || error?.where?.startsWith('target ')) continue;
    out.push({
      key: `mailbox:${s.name}`,
      title: `mailbox ${s.name} is failing`,
      detail: `${s.failures} failed poll(s) in a row; last: ${error ? error.describe() : 'failed'}`,
      holdMs: after,
    });
  }
  return out;
}

/** Mailboxes whose state this process cannot tell yet (not polled since the start, or paused). */
export function unknownMailboxes(statuses: MailboxStatus[]): Set<string> {
  return new Set(
    statuses.filter((s) => s.last === undefined || s.state === 'paused').map((s) => `mailbox:${s.name}`),
  );
}

export function targetObservation(
  health: { state: string; since: number; error?: { describe(): string } },
  where: string,
  after: number,
): Observation[] {
  if (health.state !== 'down' && health.state !== 'refusing') return [];
  return [
    {
      key: 'target',
      title: `${where} is ${health.state === 'down' ? 'down' : 'refusing Postbote'}`,
      detail: `${health.error?.describe() ?? health.state}; fetched mail waits in the spool until it is back`,
      holdMs: after,
      since: health.since,
    },
  ];
}

export function scannerObservations(results: Array<{ subject: string; ok: boolean; detail: string }>) {
  return results
    .filter((r) => !r.ok)
    .map(
      (r): Observation => ({
        key: r.subject,
        title: `${r.subject} is down`,
        detail: r.detail,
        holdMs: 0,
      }),
    );
}

export function quarantineObservation(quarantined: number, above: number): Observation[] {
  if (quarantined <= above) return [];
  return [
    {
      key: 'quarantine',
      title: `the quarantine holds ${quarantined} messages`,
      detail: `more than alerts.quarantineAbove (${above}); release or delete them in the web admin`,
      holdMs: 0,
    },
  ];
}

/** statfs's numbers: blocks of bsize bytes; bavail is what an unprivileged process may still use. */
export interface DiskStats {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
}

export function diskObservation(
  dir: string,
  s: DiskStats,
  limits: { usedPercent: number; minFree: number },
): Observation[] {
  if (s.blocks <= 0) return [];
  const usedPercent = ((s.blocks - s.bfree) / s.blocks) * 100;
  const free = s.bavail * s.bsize;
  if (usedPercent < limits.usedPercent && free >= limits.minFree) return [];
  return [
    {
      key: 'disk',
      title: `the disk of the state folder is ${Math.round(usedPercent)}% full`,
      detail: `${dir}: ${(free / GB).toFixed(2)} GB free (alert at ${limits.usedPercent}% used or under ${(limits.minFree / GB).toFixed(2)} GB free)`,
      holdMs: 0,
    },
  ];
}

export function certificateObservations(
  certs: Array<{ server: string; validTo: number; subject: string }>,
  days: number,
  now: number,
): Observation[] {
  return certs
    .filter((c) => c.validTo - now < days * DAY_MS)
    .map((c) => {
      const left = Math.floor((c.validTo - now) / DAY_MS);
      return {
        key: `cert:${c.server}`,
        title:
          c.validTo <= now
            ? `the certificate of ${c.server} has expired`
            : `the certificate of ${c.server} expires in ${left} day(s)`,
        detail: `${c.subject ? `${c.subject}, ` : ''}valid until ${new Date(c.validTo).toISOString()}; ask the provider, or check the host name`,
        holdMs: 0,
      };
    });
}
