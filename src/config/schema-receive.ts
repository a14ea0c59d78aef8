// The `receive:` block: Postbote's own receive connector (listener addresses, who may connect, AUTH,
// TLS, accepted domains, limits, and where accepted mail goes), modelled on Exchange's receive connectors.
import { z } from 'zod';
import { parseIpRange } from '../receive/ip-ranges.js';
import { showValue } from './config-error.js';
import {
  bool,
  domain,
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
      message: value === undefined ? 'required' : `expected an argon2 hash, got ${showValue(value)}`,
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
    if (seen.has(entry.domain)) {
      ctx.addIssue({
        code: 'custom',
        path: ['acceptedDomains', index],
        message: `domain ${entry.domain} is listed twice`,
      });
    }
    seen.add(entry.domain);
  });
});
