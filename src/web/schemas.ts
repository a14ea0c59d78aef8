// The JSON API's shapes as zod schemas: fastify validates requests and serializes responses with them,
// the handlers' types are inferred from them, and the OpenAPI document is generated from them.
import { z } from 'zod';
import type { MessageState } from '../store/types.js';
import { MAX_PASSWORD_LENGTH, MAX_USER_LENGTH } from './limits.js';

const STATES = [
  'spooled',
  'deferred',
  'delivered',
  'quarantined',
  'deleted',
  'duplicate',
] as const satisfies readonly MessageState[];

export const messageState = z.enum(STATES);

// ---- requests

export const idParams = z.object({ id: z.coerce.number().int().min(1) });
export const nameParams = z.object({ name: z.string().max(64) });

/** The message log's search, shared by the page /messages and /api/messages. */
export const searchQuery = z.object({
  q: z.string().max(200).optional().describe('matches sender, recipients, subject or Message-ID'),
  mailbox: z.string().max(64).optional(),
  state: z.enum(['', ...STATES]).optional(),
  sender: z.string().max(200).optional(),
  recipient: z.string().max(200).optional(),
  subject: z.string().max(200).optional(),
  messageId: z.string().max(200).optional(),
  from: z.string().max(10).optional().describe('date (YYYY-MM-DD, UTC), fetched on or after'),
  to: z.string().max(10).optional().describe('date (YYYY-MM-DD, UTC), fetched on or before'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
/** Optional throughout: the page's form builds links from what was asked. */
export type SearchParams = Partial<z.output<typeof searchQuery>>;

export const releaseBody = z.object({ recipient: z.string().max(320) });

/** A mailbox not yet in the file: its server and password, POP3. */
const newMailboxBody = z.object({
  host: z.string().min(1).max(253),
  port: z.number().int().min(1).max(65535).optional(),
  tls: z.enum(['none', 'starttls', 'tls']).optional(),
  tlsVerify: z.boolean().optional(),
  user: z.string().min(1).max(MAX_USER_LENGTH),
  password: z.string().max(MAX_PASSWORD_LENGTH),
  auth: z.enum(['auto', 'user', 'apop', 'plain', 'login']).optional(),
});

/**
 * A configured mailbox, by name: tested with its own settings and sign-in (its password, or for
 * auth: oauth2 the stored token), which a form could not send. Other fields are ignored.
 */
const configuredMailboxBody = z.object({
  mailbox: z.string().min(1).max(64).describe('the name of a configured mailbox'),
});

export const checkMailboxBody = z.union([configuredMailboxBody, newMailboxBody]);

// ---- responses

export const problem = z.object({ error: z.string() }).describe('what went wrong');

const reply = z.object({
  code: z.union([z.number(), z.string()]),
  enhanced: z.string().optional(),
  text: z.string(),
});

export const errorView = z.object({
  code: z.string(),
  message: z.string(),
  hint: z.string().optional(),
  where: z.string().optional(),
  temporary: z.boolean().optional().describe('false: retrying alone will not help'),
  reply: reply.optional(),
});

export const mailboxView = z.object({
  name: z.string(),
  protocol: z.string(),
  host: z.string(),
  port: z.number(),
  user: z.string(),
  state: z.enum(['ok', 'failing', 'paused', 'running']),
  failures: z.number(),
  needsAction: z.boolean().describe('the last pass failed in a way only a person can fix'),
  nextRunAt: z.number().nullable(),
  intervalMs: z.number(),
  today: z.number(),
  holder: z
    .object({
      owner: z.string().describe('the holding instance: label#random'),
      until: z.number().describe('when its lease lapses unless renewed (epoch ms)'),
    })
    .nullable()
    .optional()
    .describe('PostgreSQL state: the instance working on this mailbox now, null when free; absent otherwise'),
  last: z
    .object({
      at: z.number(),
      ok: z.boolean(),
      fetched: z.number(),
      delivered: z.number(),
      deferred: z.number(),
      quarantined: z.number(),
      error: errorView.nullable(),
    })
    .nullable(),
});

const activity = z.object({ start: z.number(), fetched: z.number(), delivered: z.number() });

export const dashboard = z
  .object({
    instance: z.string().optional().describe('the name of the instance that answered'),
    mailboxes: z.array(mailboxView),
    target: z.object({
      where: z.string(),
      state: z.string(),
      since: z.number(),
      error: errorView.nullable(),
    }),
    counts: z.record(z.string(), z.number()).describe('messages by state'),
    hourly: z.array(activity),
    daily: z.array(activity),
    alerts: z
      .array(z.object({ key: z.string(), title: z.string(), detail: z.string(), since: z.number() }))
      .describe('postmaster alerts raised and not yet resolved (alerts:)'),
  })
  .describe('every mailbox, the target, the queues, activity, active alerts');

const storedSession = z.object({
  id: z.number(),
  mailbox: z.string(),
  startedAt: z.number(),
  endedAt: z.number(),
  listed: z.number(),
  fetched: z.number(),
  delivered: z.number(),
  deferred: z.number(),
  quarantined: z.number(),
  removed: z.number(),
  bytes: z.number(),
  error: z.string().nullable(),
});

export const mailboxDetail = z
  .object({ mailbox: mailboxView, sessions: z.array(storedSession) })
  .describe('the mailbox and its last 50 sessions');

/** The spam/virus filter's verdict as stored (src/filters/types.ts FilterVerdict). */
const scanResult = z.object({
  scanner: z.string(),
  type: z.enum(['rspamd', 'spamd', 'clamd']),
  status: z.enum(['clean', 'spam', 'infected', 'skipped']),
  score: z.number().nullish(),
  required: z.number().nullish(),
  symbols: z.array(z.string()).optional(),
  action: z.string().optional(),
  virus: z.string().optional(),
  reason: z.string().optional(),
});
const filterVerdict = z.object({
  verdict: z.enum(['clean', 'spam', 'virus', 'unscanned']),
  action: z.enum(['deliver', 'redirect', 'quarantine']),
  results: z.array(scanResult),
  edits: z.object({
    add: z.array(z.string()),
    remove: z.array(z.string()),
    subjectPrefix: z.string().optional(),
  }),
  summary: z.string(),
  notify: z.boolean(),
  at: z.number(),
});

export const messageRecord = z.object({
  id: z.number(),
  mailbox: z.string(),
  uid: z.string(),
  state: messageState,
  spoolKey: z.string().nullable(),
  size: z.number(),
  sha256: z.string(),
  messageId: z.string().nullable(),
  sender: z.string(),
  subject: z.string().nullable(),
  recipients: z.array(
    z.object({
      address: z.string(),
      status: z.enum(['pending', 'delivered', 'rerouted', 'refused', 'duplicate']),
      reason: z.string(),
      reply: reply.optional(),
      duplicateOf: z.number().optional(),
    }),
  ),
  attempts: z.number(),
  nextAttemptAt: z.number().nullable(),
  reason: z.string().nullable(),
  fetchedAt: z.number(),
  updatedAt: z.number(),
  sourceRemovedAt: z.number().nullable(),
  explanation: z.array(z.string()).optional(),
  sourceSize: z.number().nullish(),
  headerDigest: z.string().nullish(),
  detachedAt: z.number().nullish(),
  filter: filterVerdict.nullish().describe('the spam/virus filter verdict; null when not filtered'),
});

export const messagePage = z
  .object({ total: z.number(), messages: z.array(messageRecord) })
  .describe('one page of the log and the total that matched');

export const messageDetail = z
  .object({
    message: messageRecord,
    attempts: z.array(
      z.object({
        at: z.number(),
        outcome: z.string(),
        detail: z.string(),
        recipients: z.array(z.object({ address: z.string(), reply: reply.optional() })),
      }),
    ),
    headers: z
      .array(z.object({ name: z.string(), value: z.string() }))
      .nullable()
      .describe('from the spool file while it exists'),
  })
  .describe('the record, its attempts and its headers');

export const changedMessage = z.object({ message: messageRecord }).describe('the record after the change');

export const accepted = z.object({ ok: z.literal(true) }).describe('the pass was asked for');

export const checkResult = z
  .object({
    subject: z.string(),
    ok: z.boolean(),
    detail: z.string(),
    hint: z.string().optional(),
  })
  .describe('what the test found, with the fix');

export const health = z.object({ ok: z.boolean(), mailboxes: z.number() });

/** Free-form JSON: the configuration as written, the OpenAPI document itself. */
export const document = z.record(z.string(), z.unknown());

export const text = z.string();
