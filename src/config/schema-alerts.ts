// The `alerts:` section: which conditions tell the postmaster (delivery.postmaster, by mail through the
// target) and an optional webhook, when each starts and when it clears (src/alerts/).
import { bool, duration, intIn, size, strict, text } from './fields.js';

// 15 min: a provider's maintenance or a target's restart usually passes within it; a mailbox or
// target failing longer deserves a person's attention (and mail waits meanwhile).
const DEFAULT_AFTER_MS = 15 * 60_000;
// 1 min: the disk, the quarantine and the scanners are checked this often; cheap (one statfs, one
// count, one probe per scanner) and soon enough for conditions that build up over hours.
const DEFAULT_CHECK_EVERY_MS = 60_000;
// 50 messages: a quarantine that size is more than a week of ordinary refusals at a small company;
// beyond it something is systematically wrong (a rule, the scanner, the target's recipients).
const DEFAULT_QUARANTINE_ABOVE = 50;
// 14 days: time enough to ask a provider about a certificate before mail stops.
const DEFAULT_CERTIFICATE_DAYS = 14;
// 90 % used or less than 1 GB free: the spool and the store need room for mail waiting out a target
// that is down, and a full disk stops fetching altogether.
const DEFAULT_DISK_USED_PERCENT = 90;
const DEFAULT_DISK_MIN_FREE = 1024 ** 3;
// 10 s: a chat tool's webhook answers in well under a second; a slower one is not waited for.
const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;

export const alertsSchema = strict({
  /** Mail each alert and recovery to delivery.postmaster (queued like any message). */
  mail: bool().default(true),
  /** A mailbox failing, or the target down or refusing Postbote, this long raises an alert. */
  after: duration().default(DEFAULT_AFTER_MS),
  checkEvery: duration().default(DEFAULT_CHECK_EVERY_MS),
  /** More messages than this in the quarantine raise an alert. */
  quarantineAbove: intIn(0, 1_000_000_000).default(DEFAULT_QUARANTINE_ABOVE),
  /** A provider certificate expiring within this many days raises an alert. */
  certificateDays: intIn(1, 365).default(DEFAULT_CERTIFICATE_DAYS),
  disk: strict({
    usedPercent: intIn(1, 100).default(DEFAULT_DISK_USED_PERCENT),
    minFree: size().default(DEFAULT_DISK_MIN_FREE),
  }).prefault({}),
  /** A JSON POST per alert and recovery (Slack, Mattermost, Teams, ntfy…). The URL is a secret. */
  webhook: strict({
    url: text('an http(s) URL').refine((v) => /^https?:\/\/[^\s]+$/i.test(v), {
      message: 'an http:// or https:// URL',
    }),
    timeout: duration().default(DEFAULT_WEBHOOK_TIMEOUT_MS),
  }).optional(),
  /** A daily summary of what was quarantined and why, at this local time (HH:MM). */
  digest: strict({
    at: text('a time like 07:30').refine((v) => HH_MM.test(v), { message: 'a time like 07:30 (HH:MM)' }),
  }).optional(),
});
