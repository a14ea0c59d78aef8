// The `receive:` block: Postbote's own receive connector (listener addresses, who may connect, AUTH,
// TLS, accepted domains, limits, and where accepted mail goes), modelled on Exchange's receive connectors.
import { domainToASCII } from 'node:url';
import { z } from 'zod';
import { parseIpRange } from '../receive/ip-ranges.js';
import { showValue } from './config-error.js';
import {
  bool,
  domain,
  duration,
  host,
  hostPort,
  intIn,
  isAddress,
  isDomain,
  list,
  nonEmptyList,
  oneOf,
  size,
  strict,
  text,
} from './fields.js';
import { name, TLS_MODES } from './schema-sections.js';

// 36 MB: Exchange 2013+'s default MaxMessageSize on receive connectors, so both sides agree by default.
const DEFAULT_MAX_MESSAGE_SIZE = 36 * 1024 * 1024;
// 200: Exchange's default MaxRecipientsPerMessage; RFC 5321 4.5.3.1.8 asks for at least 100.
const DEFAULT_MAX_RECIPIENTS = 200;
// 600 a minute: Exchange's default MessageRateLimit on Edge servers; a LAN connector sends far fewer.
const DEFAULT_RATE_PER_MINUTE = 600;
// 100 sessions in all: Postfix's default_process_limit (at most 100 smtpd processes); Exchange allows
// 5000, sized for a hub, far above what a small company's connector ever sees at once.
const DEFAULT_MAX_CONNECTIONS = 100;
// 20 from one address: Exchange's MaxInboundConnectionPerSource; a sending server opens a handful.
const DEFAULT_MAX_CONNECTIONS_PER_IP = 20;
// 5 minutes idle: RFC 5321 4.5.3.2.7 asks a server to wait at least that long for the next command.
const DEFAULT_IDLE_TIMEOUT = 5 * 60_000;
// 10 minutes per session however busy: Exchange's ConnectionTimeout on receive connectors; a client
// that trickles one byte a minute is otherwise never idle long enough to be dropped.
const DEFAULT_SESSION_TIMEOUT = 10 * 60_000;
// 500 bytes a second in DATA: Postfix's smtpd_min_data_rate; even a 36 MB message fits in 20 hours.
const DEFAULT_MIN_DATA_RATE = 500;
// 3 failed AUTH in a session, then 421: one typo and one retry; guessing needs a new connection.
const DEFAULT_AUTH_FAILURES_PER_SESSION = 3;
// 2 s before each failed AUTH is answered: Dovecot's auth_failure_delay; a person never notices it.
const DEFAULT_AUTH_FAILURE_DELAY = 2_000;
// 10 failures from one address lock it out for 15 minutes (the web admin's lockout time): with the
// per-IP connection limit and the delay, at most 10 guesses per 15 minutes from one address.
const DEFAULT_AUTH_LOCKOUT_AFTER = 10;
const DEFAULT_AUTH_LOCKOUT = 15 * 60_000;

/** An address, a CIDR block or a from-to range. */
const remoteRange = () =>
  z.unknown().transform((value, ctx): string => {
    if (typeof value === 'string' && parseIpRange(value)) return value.trim();
    ctx.addIssue({
      code: 'custom',
      message: `expected an IP address, CIDR block or range, got ${showValue(value)}`,
      params: { hint: 'e.g. 192.168.1.10, 10.0.0.0/24, 10.0.0.1-10.0.0.20 or fd00::/64' },
      input: value,
    });
    return z.NEVER;
  });

const passwordHash = () =>
  z.unknown().transform((value, ctx): string => {
    if (typeof value === 'string' && /^\$argon2(id|i|d)\$/.test(value.trim())) return value.trim();
    ctx.addIssue({
      code: 'custom',
      // Never the value: what lands here by mistake is usually the password itself.
      message: value === undefined ? 'required' : 'expected an argon2 hash ($argon2id$…), got something else',
      params: {
        missing: value === undefined,
        hint: 'never write the password itself: run `postbote hash-password` and paste its output',
      },
      input: value,
    });
    return z.NEVER;
  });

export interface AcceptedDomain {
  domain: string;
  /** Lower-case full addresses; undefined for a relay-style domain that accepts any local part. */
  recipients?: string[];
}

const authoritativeDomain = strict({ domain: domain(), recipients: nonEmptyList(text('an address')) });

/** `corp.local` (any local part) or `{ domain, recipients: [alice, bob@corp.local] }` (only those). */
const acceptedDomain = () =>
  z.unknown().transform((value, ctx): AcceptedDomain => {
    if (typeof value === 'string') {
      if (isDomain(value.trim())) return { domain: value.trim().toLowerCase() };
      ctx.addIssue({ code: 'custom', message: `expected a domain, got ${showValue(value)}`, input: value });
      return z.NEVER;
    }
    const parsed = authoritativeDomain.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue(issue as never);
      return z.NEVER;
    }
    const { domain: d, recipients } = parsed.data;
    const out: string[] = [];
    recipients.forEach((entry, index) => {
      const full = (entry.includes('@') ? entry : `${entry}@${d}`).trim().toLowerCase();
      const ok = isAddress(full) && full.endsWith(`@${d}`);
      if (ok) out.push(full);
      else
        ctx.addIssue({
          code: 'custom',
          path: ['recipients', index],
          message: `expected a local part or an address @${d}, got ${showValue(entry)}`,
          input: entry,
        });
    });
    return { domain: d, recipients: out };
  });

const userSchema = strict({ user: text(), passwordHash: passwordHash() });

export const receiveSchema = strict({
  name: name(),
  bindings: nonEmptyList(hostPort()),
  remoteIpRanges: list(remoteRange()),
  auth: oneOf(['none', 'required']).default('none'),
  users: list(userSchema).default([]),
  allowInsecureAuth: bool().default(false),
  tls: strict({
    cert: text('a file path'),
    key: text('a file path'),
    required: bool().default(false),
  }).optional(),
  acceptedDomains: nonEmptyList(acceptedDomain()),
  maxMessageSize: size().default(DEFAULT_MAX_MESSAGE_SIZE),
  maxRecipients: intIn(1, 10_000).default(DEFAULT_MAX_RECIPIENTS),
  rateLimits: strict({
    connectionsPerMinute: intIn(1, 1_000_000).default(DEFAULT_RATE_PER_MINUTE),
    messagesPerMinute: intIn(1, 1_000_000).default(DEFAULT_RATE_PER_MINUTE),
  }).prefault({}),
  /** Postfix's allow_untrusted_routing: `user%other@ours`, `other!user@ours`, `<@relay:user@ours>`. */
  allowSenderRouting: bool().default(false),
  maxConnections: intIn(1, 100_000).default(DEFAULT_MAX_CONNECTIONS),
  maxConnectionsPerIp: intIn(1, 100_000).default(DEFAULT_MAX_CONNECTIONS_PER_IP),
  timeouts: strict({
    idle: duration().default(DEFAULT_IDLE_TIMEOUT),
    session: duration().default(DEFAULT_SESSION_TIMEOUT),
  }).prefault({}),
  /** Bytes a second a client must keep up on average in DATA, with `timeouts.idle` as the credit. */
  minDataRate: intIn(1, 1_000_000_000).default(DEFAULT_MIN_DATA_RATE),
  authFailures: strict({
    perSession: intIn(1, 100).default(DEFAULT_AUTH_FAILURES_PER_SESSION),
    delay: duration().default(DEFAULT_AUTH_FAILURE_DELAY),
    lockoutAfter: intIn(1, 10_000).default(DEFAULT_AUTH_LOCKOUT_AFTER),
    lockout: duration().default(DEFAULT_AUTH_LOCKOUT),
  }).prefault({}),
  banner: text().optional(),
  fqdn: host().optional(),
  deliver: strict({
    lmtp: hostPort().optional(),
    maildir: text('a folder').optional(),
    smtp: hostPort().optional(),
    /** TLS towards the next hop (lmtp or smtp): none, starttls or tls; verified unless tlsVerify: false. */
    tls: oneOf(TLS_MODES).default('none'),
    tlsVerify: bool().default(true),
    ca: text('a file path').optional(),
  }).superRefine((deliver, ctx) => {
    const set = [deliver.lmtp, deliver.maildir, deliver.smtp].filter((v) => v !== undefined).length;
    if (set !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: set === 0 ? 'one of lmtp, maildir or smtp is required' : 'only one of lmtp, maildir or smtp',
        params: { missing: set === 0, hint: 'e.g. deliver: { lmtp: "127.0.0.1:24" }' },
      });
    }
    if (deliver.maildir !== undefined && (deliver.tls !== 'none' || deliver.ca !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [deliver.tls !== 'none' ? 'tls' : 'ca'],
        message: 'TLS settings apply to an lmtp or smtp next hop, not to a maildir',
        params: { hint: 'remove tls/ca here, or deliver by lmtp or smtp' },
      });
    }
  }),
}).superRefine((listener, ctx) => {
  if (listener.auth === 'required' && listener.users.length === 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['users'],
      message: 'auth: required needs at least one user',
      params: { missing: true, hint: 'users: [{ user: postbote, passwordHash: <postbote hash-password> }]' },
    });
  }
  if (listener.auth === 'none' && listener.users.length > 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['users'],
      message: 'users are set but auth is none',
      params: { hint: 'write auth: required to make clients log in, or remove users' },
    });
  }
  if (listener.auth === 'required' && !listener.tls && !listener.allowInsecureAuth) {
    ctx.addIssue({
      code: 'custom',
      path: ['auth'],
      message: 'auth: required without tls would send passwords in clear, so AUTH is never offered',
      params: { hint: 'add tls: { cert, key } (STARTTLS), or allowInsecureAuth: true on a trusted network' },
    });
  }
  const seen = new Set<string>();
  listener.acceptedDomains.forEach((entry, index) => {
    // bücher.example and xn--bcher-kva.example are one domain.
    const canonical = domainToASCII(entry.domain) || entry.domain;
    if (seen.has(canonical)) {
      ctx.addIssue({
        code: 'custom',
        path: ['acceptedDomains', index],
        message: `domain ${entry.domain} is listed twice`,
      });
    }
    seen.add(canonical);
  });
});
