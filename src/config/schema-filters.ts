// The `filters:` section (global, or per mailbox where it replaces the global one): which scanners
// look at fetched mail before delivery, and what a verdict does (src/filters/).
import { address, duration, host, intIn, nonEmptyList, oneOf, port, size, strict, text } from './fields.js';

export const SCANNER_TYPES = ['rspamd', 'spamd', 'clamd'] as const;
/** Each daemon's usual port, so `type: clamd` alone reaches a local clamd on TCP. */
export const SCANNER_PORTS: Record<(typeof SCANNER_TYPES)[number], number> = {
  rspamd: 11333,
  spamd: 783,
  clamd: 3310,
};

// 20 MB: spam hides in small mail (rspamd, spamd and clamd all cap what they read: 50 MB, 500 KB in
// spamc, 25 MB StreamMaxLength); scanning huge attachments costs more than it finds. Larger mail is
// delivered unscanned and marked so.
const DEFAULT_MAX_SCAN_SIZE = 20 * 1024 * 1024;
// 60 s: rspamd and spamd answer in well under a second offline; a scanner this slow is treated as down.
const DEFAULT_SCAN_TIMEOUT = 60_000;
// 4 messages per scanner at once: a scanner on a small host scans one per core; more only queues there.
const DEFAULT_SCAN_CONCURRENCY = 4;

const scannerSchema = strict({
  type: oneOf(SCANNER_TYPES),
  host: host().optional(),
  port: port().optional(),
  /** A Unix socket instead of host/port (e.g. /run/clamav/clamd.ctl). */
  socket: text('a socket path').optional(),
  /** defer: the message waits for the scanner like for a target that is down; deliver: marked unscanned. */
  onError: oneOf(['defer', 'deliver']).default('defer'),
}).superRefine((value, ctx) => {
  if (value.socket !== undefined && (value.host !== undefined || value.port !== undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: ['socket'],
      message: 'socket and host/port are both set',
      params: { hint: 'a scanner is reached either by a Unix socket or by host and port' },
    });
  }
});

export const filtersSchema = strict({
  scanners: nonEmptyList(scannerSchema),
  maxScanSize: size().default(DEFAULT_MAX_SCAN_SIZE),
  timeout: duration().default(DEFAULT_SCAN_TIMEOUT),
  concurrency: intIn(1, 64).default(DEFAULT_SCAN_CONCURRENCY),
  spam: strict({
    /** tag: headers only; redirect: to `redirectTo` instead of the recipients; quarantine. */
    action: oneOf(['tag', 'redirect', 'quarantine']).default('tag'),
    subjectPrefix: text().optional(),
    redirectTo: address().optional(),
  })
    .superRefine((value, ctx) => {
      if (value.action === 'redirect' && value.redirectTo === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['redirectTo'],
          message: 'spam.action: redirect needs spam.redirectTo',
          params: { missing: true, hint: 'e.g. redirectTo: junk@corp.local (or a plus address)' },
        });
      }
    })
    .prefault({}),
  virus: strict({
    /** Never delivered: quarantined, and with notify the postmaster (delivery.postmaster) is told. */
    action: oneOf(['quarantine', 'notify']).default('notify'),
  }).prefault({}),
});
