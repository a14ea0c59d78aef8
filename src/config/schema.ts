// The one schema of postbote.yaml. Its output (durations in ms, sizes in bytes, defaults filled) is the
// raw config; resolve.ts then reads the files it names (passwords, CAs) and fills cross-section defaults.
import {
  address,
  bool,
  duration,
  host,
  intIn,
  ipLiteral,
  list,
  oneOf,
  port,
  size,
  strict,
  text,
} from './fields.js';
import { alertsSchema } from './schema-alerts.js';
import { filtersSchema } from './schema-filters.js';
import { receiveSchema } from './schema-receive.js';
import { envelopeSender, mailboxSchema, refineSecret, TLS_MODES } from './schema-sections.js';
import { webSchema } from './schema-web.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

const targetAuthSchema = strict({
  user: text(),
  password: text().optional(),
  passwordFile: text('a file path').optional(),
}).superRefine((value, ctx) => refineSecret(value, ctx));

/**
 * SMTP connections to the target: one per fetching session (DEFAULT_CONCURRENCY), so no session waits
 * for another's delivery. With 4 (the old default) behind 8 sessions, 8 mailboxes × 40 messages took
 * 1.2-1.35 s instead of 0.70-0.76 s with 8, against a target that answers the data after 10 ms (a
 * server committing to its queue). Receiving servers allow more from one client: Exchange's
 * MaxInboundConnectionPerSource 20, Postfix's smtpd_client_connection_count_limit 50.
 */
export const DEFAULT_TARGET_CONNECTIONS = 10;

const targetSchema = strict({
  host: host(),
  port: port().default(25),
  protocol: oneOf(['smtp', 'lmtp']).default('smtp'),
  localAddress: ipLiteral().optional(),
  tls: oneOf(TLS_MODES).default('starttls'),
  tlsVerify: bool().default(true),
  ca: text('a file path').optional(),
  servername: host().optional(),
  helo: host().optional(),
  auth: targetAuthSchema.optional(),
  maxConnections: intIn(1, 64).default(DEFAULT_TARGET_CONNECTIONS),
  timeouts: strict({
    connect: duration().optional(),
    greeting: duration().optional(),
    command: duration().optional(),
    dataEnd: duration().optional(),
  }).prefault({}),
});

// 100 MB: far above what providers accept (typically 25–50 MB), so only runaway messages hit it.
const DEFAULT_MAX_MESSAGE_SIZE = 100 * 1024 * 1024;
// 30 Received headers: RFC 5321 6.3 suggests at least 100 hops is a loop; real mail has under 20.
const DEFAULT_MAX_RECEIVED_HEADERS = 30;

const deliverySchema = strict({
  envelopeSender: envelopeSender().default('return-path'),
  retry: strict({
    initial: duration().default(60_000),
    max: duration().default(3_600_000),
    expireAfter: duration().default(5 * 86_400_000),
  }).prefault({}),
  maxMessageSize: size().default(DEFAULT_MAX_MESSAGE_SIZE),
  maxReceivedHeaders: intIn(1, 1000).default(DEFAULT_MAX_RECEIVED_HEADERS),
  postmaster: address().optional(),
}).superRefine((value, ctx) => {
  if (value.retry.max < value.retry.initial) {
    ctx.addIssue({
      code: 'custom',
      path: ['retry', 'max'],
      message: 'retry.max is shorter than retry.initial',
      params: { hint: 'max caps the backoff, so it must be at least initial' },
    });
  }
});

// A lease is renewed every third of its time: below 3 s that is more than once a second per mailbox,
// and a few seconds of a stalled event loop (a loaded host) would cost an instance its own mailboxes.
const MIN_LEASE_TTL_MS = 3_000;
/**
 * Sessions per provider host. Providers limit connections per account and IP (Dovecot's
 * mail_max_userip_connections 10, Qboxmail and LuxSci 10 POP3 sessions per account) and per IP
 * (Oracle Messaging Server's proxy 20, Exchange 2,000): Postbote holds one session per mailbox, so 10
 * of different mailboxes plus the 4 IDLE watchers (14) stay below every per-IP cap found, with room
 * for the office's own mail clients behind the same address. An office's 10 mailboxes at one provider
 * are fetched in one wave: with 8, the last two ran alone after the others, the last 10-24 % of the
 * fetch (three runs of 10 × 60 messages).
 */
export const DEFAULT_PER_HOST_CONNECTIONS = 10;
/** Mailboxes in parallel, whatever their hosts: as many as one provider host allows. */
export const DEFAULT_CONCURRENCY = DEFAULT_PER_HOST_CONNECTIONS;

const schedulerSchema = strict({
  concurrency: intIn(1, 1000).default(DEFAULT_CONCURRENCY),
  perHostConnections: intIn(1, 100).default(DEFAULT_PER_HOST_CONNECTIONS),
  /** IMAP IDLE watching connections per host, counted apart from perHostConnections (fetching). */
  idleConnections: intIn(1, 100).default(4),
  interval: duration().default(300_000),
  /** How long SIGTERM waits for the messages in hand before dropping provider sessions (nothing is lost). */
  shutdownGrace: duration().default(30_000),
  /**
   * postgres:// state: how long a mailbox's lease (and an instance's heartbeat) lasts unless renewed;
   * a dead instance's mailboxes move to the others after it (plus one poll).
   */
  leaseTtl: duration().default(30_000),
}).superRefine((value, ctx) => {
  if (value.leaseTtl < MIN_LEASE_TTL_MS) {
    ctx.addIssue({
      code: 'custom',
      path: ['leaseTtl'],
      message: `leaseTtl must be at least ${MIN_LEASE_TTL_MS / 1000}s`,
      params: {
        hint: 'leases are renewed every third of it; shorter, a busy instance loses its own mailboxes',
      },
    });
  }
});

export const configSchema = strict({
  state: text('a folder or a postgres:// URL').default('./data'),
  /** A local folder for the message bytes and the lock; required with a postgres:// state. */
  spool: text('a folder').optional(),
  /** This instance's name in logs, metrics, the web page and the lease table (postgres:// state). */
  instance: text('a name such as mx1').optional(),
  log: strict({
    level: oneOf(LOG_LEVELS).default('info'),
    /** text | json; unset: text on a terminal, JSON otherwise (a file, journald, a pipe). */
    format: oneOf(['text', 'json']).optional(),
    /** Append to this file instead of stderr; SIGHUP reopens it (logrotate). Relative to the config file. */
    file: text('a file name').optional(),
  }).prefault({}),
  target: targetSchema,
  delivery: deliverySchema.prefault({}),
  scheduler: schedulerSchema.prefault({}),
  mailboxes: list(mailboxSchema).superRefine((mailboxes, ctx) => {
    const seen = new Map<string, number>();
    mailboxes.forEach((mailbox, index) => {
      const first = seen.get(mailbox.name.toLowerCase());
      if (first === undefined) seen.set(mailbox.name.toLowerCase(), index);
      else
        ctx.addIssue({
          code: 'custom',
          path: [index, 'name'],
          message: `mailbox name "${mailbox.name}" is used twice (also mailboxes[${first}])`,
          params: { hint: 'names identify mailboxes in the state; give each one a unique name' },
        });
    });
  }),
  receive: list(receiveSchema).optional(),
  web: webSchema.optional(),
  /** Spam and virus scanners between spool and delivery; a mailbox's own `filters:` replaces it. */
  filters: filtersSchema.optional(),
  /** Postmaster alerts (mail and webhook) and the daily quarantine digest (src/alerts/). */
  alerts: alertsSchema.optional(),
});
