// Schema sections for the mailboxes, plus pieces shared with schema.ts (receive: schema-receive.ts).
import { z } from 'zod';
import { DEFAULT_EXCLUDE } from '../imap/folders.js';
import { showValue } from './config-error.js';
import {
  address,
  bool,
  domain,
  duration,
  host,
  intIn,
  isAddress,
  list,
  nonEmptyList,
  oneOf,
  port,
  size,
  strict,
  text,
} from './fields.js';
import { filtersSchema } from './schema-filters.js';
import { oauth2Schema, refineMailboxOAuth } from './schema-oauth.js';
import { rulesSchema } from './schema-rules.js';

export const TLS_MODES = ['none', 'starttls', 'tls'] as const;
export const MAILBOX_AUTH = ['auto', 'user', 'apop', 'plain', 'login', 'oauth2'] as const;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A name that is safe in file names, URLs and log fields. */
export const name = () =>
  z.unknown().transform((value, ctx): string => {
    if (typeof value === 'string' && NAME.test(value)) return value;
    ctx.addIssue({
      code: 'custom',
      message:
        value === undefined
          ? 'required'
          : `expected a name of letters, digits, . _ -, got ${showValue(value)}`,
      params: { missing: value === undefined, hint: 'start with a letter or digit, at most 64 characters' },
      input: value,
    });
    return z.NEVER;
  });

/** 'return-path' | 'mailbox' | a fixed address; '<>' is the null sender. */
export const envelopeSender = () =>
  z.unknown().transform((value, ctx): string => {
    if (value === 'return-path' || value === 'mailbox' || value === '<>') return value;
    if (typeof value === 'string' && isAddress(value.trim())) return value.trim();
    ctx.addIssue({
      code: 'custom',
      message: `expected return-path, mailbox, <> or an address, got ${showValue(value)}`,
      params: { hint: 'return-path uses the message’s own sender; mailbox uses the mailbox’s user address' },
      input: value,
    });
    return z.NEVER;
  });

/** Exactly one of password / passwordFile; shared by the target's auth and the mailboxes. */
export function refineSecret(
  value: { password?: string; passwordFile?: string },
  ctx: z.core.$RefinementCtx,
): void {
  if (value.password !== undefined && value.passwordFile !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['passwordFile'],
      message: 'password and passwordFile are both set',
      params: { hint: `keep one of them: password (e.g. \${VAR}) or passwordFile` },
    });
  } else if (value.password === undefined && value.passwordFile === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: 'password or passwordFile is required',
      params: {
        missing: true,
        hint: `write password: \${SOME_VAR} and set it in the environment, or passwordFile: FILE`,
      },
    });
  }
}

/** IMAP: what happens to a delivered message that is not kept: `delete` or `{ moveTo: FOLDER }`. */
const afterDelivery = () =>
  z.unknown().transform((value, ctx): 'delete' | { moveTo: string } => {
    if (value === 'delete') return value;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const keys = Object.keys(value);
      const moveTo = (value as { moveTo?: unknown }).moveTo;
      if (keys.length === 1 && typeof moveTo === 'string' && moveTo.trim() !== '' && !/[*%]/.test(moveTo))
        return { moveTo: moveTo.trim() };
    }
    ctx.addIssue({
      code: 'custom',
      message: `expected delete or { moveTo: FOLDER }, got ${showValue(value)}`,
      params: {
        hint: 'afterDelivery: delete, or afterDelivery: { moveTo: Archive }; keep: true keeps mail and marks it read',
      },
      input: value,
    });
    return z.NEVER;
  });

/** One address or a list of them, always a list on output. */
const recipients = () =>
  z.unknown().transform((value, ctx): string[] => {
    const items = Array.isArray(value) ? value : [value];
    const bad = items.findIndex((item) => typeof item !== 'string' || !isAddress(item.trim()));
    if (items.length > 0 && bad === -1) return items.map((item: string) => item.trim());
    ctx.addIssue({
      code: 'custom',
      path: Array.isArray(value) && bad >= 0 ? [bad] : [],
      message: `expected an address or a list of addresses, got ${showValue(bad >= 0 ? items[bad] : value)}`,
      input: value,
    });
    return z.NEVER;
  });

const headerName = () =>
  z.unknown().transform((value, ctx): string => {
    if (typeof value === 'string' && /^[!-9;-~]+$/.test(value)) return value;
    ctx.addIssue({
      code: 'custom',
      message: `expected a header name, got ${showValue(value)}`,
      input: value,
    });
    return z.NEVER;
  });

// 7 days: a provider's duplicate copies (Bcc fan-out, list plus direct) arrive within hours;
// a week also covers a message re-fetched after a restore, without remembering forever.
const DEFAULT_DUPLICATE_WINDOW = 7 * 86_400_000;

// Routing by envelope headers (src/routing/): accepted domains, aliases, trusted headers, duplicates.
const catchAllSchema = strict({
  domains: nonEmptyList(domain()),
  rewriteDomain: domain().optional(),
  fallback: address(),
  headers: nonEmptyList(headerName()).optional(),
  aliases: z.record(z.string().min(1), recipients()).default({}),
  /** The same message for the same recipient within this time is recorded as a duplicate; 0 turns it off. */
  duplicateWindow: duration().default(DEFAULT_DUPLICATE_WINDOW),
});

export const mailboxSchema = strict({
  name: name(),
  protocol: oneOf(['pop3', 'imap']).default('pop3'),
  host: host(),
  port: port().optional(),
  tls: oneOf(TLS_MODES).default('tls'),
  tlsVerify: bool().default(true),
  ca: text('a file path').optional(),
  servername: host().optional(),
  user: text(),
  password: text().optional(),
  passwordFile: text('a file path').optional(),
  auth: oneOf(MAILBOX_AUTH).default('auto'),
  /** With auth: oauth2 (schema-oauth.ts). */
  oauth2: oauth2Schema.optional(),
  deliverTo: nonEmptyList(address()).optional(),
  catchAll: catchAllSchema.optional(),
  rules: rulesSchema().optional(),
  fallback: address().optional(),
  envelopeSender: envelopeSender().optional(),
  /** IMAP: folder names or LIST patterns ("*"); default [INBOX]. */
  folders: nonEmptyList(text('a folder name or pattern')).optional(),
  /** IMAP: special-use flags (\\Sent) or names a wildcard skips; default Sent, Trash, Junk, Drafts. */
  exclude: list(text('a special-use flag like \\Sent or a folder name')).optional(),
  afterDelivery: afterDelivery().optional(),
  /** IMAP push: unset watches when the server announces IDLE; true also polls NOOP without it; false never. */
  idle: bool().optional(),
  keep: bool().default(false),
  deleteAfterDays: intIn(1, 36_500).optional(),
  interval: duration().optional(),
  enabled: bool().default(true),
  maxMessageSize: size().optional(),
  /** Replaces the global filters for this mailbox. */
  filters: filtersSchema.optional(),
  timeouts: strict({
    connect: duration().optional(),
    greeting: duration().optional(),
    command: duration().optional(),
    idle: duration().optional(),
    /** Per-message deadline (RETR): this plus 1 s per 10 KB of the message's size. */
    message: duration().optional(),
  }).prefault({}),
})
  .superRefine((mailbox, ctx) => {
    if (mailbox.auth !== 'oauth2') refineSecret(mailbox, ctx);
    refineMailboxOAuth(mailbox, ctx);
    if (mailbox.deliverTo === undefined && mailbox.catchAll === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'deliverTo or catchAll is required',
        params: { missing: true, hint: 'write deliverTo: [user@your-domain] for a personal mailbox' },
      });
    }
    if (mailbox.deliverTo !== undefined && mailbox.catchAll !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['catchAll'],
        message: 'deliverTo and catchAll are both set',
        params: {
          hint: 'a mailbox delivers either to fixed recipients (deliverTo) or by envelope headers (catchAll)',
        },
      });
    }
    if (mailbox.deleteAfterDays !== undefined && !mailbox.keep) {
      ctx.addIssue({
        code: 'custom',
        path: ['deleteAfterDays'],
        message: 'deleteAfterDays needs keep: true',
        params: {
          hint: 'without keep: true messages are deleted right after delivery; add keep: true or remove it',
        },
      });
    }
    if (mailbox.protocol === 'pop3') {
      for (const key of ['folders', 'exclude', 'afterDelivery', 'idle'] as const) {
        if (mailbox[key] === undefined) continue;
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `${key} is an IMAP setting`,
          params: { hint: 'set protocol: imap, or remove it (POP3 has one folder and deletes or keeps)' },
        });
      }
    }
    const moveTo = typeof mailbox.afterDelivery === 'object' ? mailbox.afterDelivery.moveTo : undefined;
    if (
      moveTo !== undefined &&
      (mailbox.folders ?? ['INBOX']).some(
        (f) => f === moveTo || (f.toUpperCase() === moveTo.toUpperCase() && moveTo.toUpperCase() === 'INBOX'),
      )
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['afterDelivery', 'moveTo'],
        message: `moveTo ${moveTo} is also a folder Postbote reads`,
        params: { hint: 'moved mail would be fetched again: move to a folder not listed in folders' },
      });
    }
    if (mailbox.protocol === 'imap' && (mailbox.auth === 'user' || mailbox.auth === 'apop')) {
      ctx.addIssue({
        code: 'custom',
        path: ['auth'],
        message: `auth: ${mailbox.auth} is a POP3 login method`,
        params: { hint: 'for IMAP use auto, plain or login' },
      });
    }
  })
  .transform((mailbox) => ({
    ...mailbox,
    port: mailbox.port ?? defaultPort(mailbox.protocol, mailbox.tls),
    folders: mailbox.folders ?? ['INBOX'],
    exclude: mailbox.exclude ?? [...DEFAULT_EXCLUDE],
    afterDelivery: mailbox.afterDelivery ?? ('delete' as const),
  }));

/** The well-known port for the protocol: implicit TLS has its own port, STARTTLS shares the plain one. */
export function defaultPort(protocol: 'pop3' | 'imap', tls: (typeof TLS_MODES)[number]): number {
  if (protocol === 'pop3') return tls === 'tls' ? 995 : 110;
  return tls === 'tls' ? 993 : 143;
}
