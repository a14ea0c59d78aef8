// The JSON API behind every page (also for scripts, with an API token), the event stream, /metrics
// and the OpenAPI document built from these routes' own schemas.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { MailboxConfig } from '../config/index.js';
import { redactConfig } from '../config/index.js';
import { defaultPort } from '../config/schema-sections.js';
import type { MessageState } from '../store/types.js';
import { ActionError, release, remove, retry } from './actions.js';
import * as data from './data.js';
import { MAX_PASSWORD_LENGTH, MAX_USER_LENGTH } from './limits.js';
import { openApiDocument } from './openapi.js';
import type { WebContext } from './server.js';

const STATES: MessageState[] = ['spooled', 'deferred', 'delivered', 'quarantined', 'deleted', 'duplicate'];
const idParams = {
  type: 'object',
  properties: { id: { type: 'integer', minimum: 1 } },
  required: ['id'],
} as const;
const nameParams = {
  type: 'object',
  properties: { name: { type: 'string', maxLength: 64 } },
  required: ['name'],
} as const;

export const searchQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    q: { type: 'string', maxLength: 200, description: 'matches sender, recipients, subject or Message-ID' },
    mailbox: { type: 'string', maxLength: 64 },
    state: { type: 'string', enum: ['', ...STATES] },
    sender: { type: 'string', maxLength: 200 },
    recipient: { type: 'string', maxLength: 200 },
    subject: { type: 'string', maxLength: 200 },
    messageId: { type: 'string', maxLength: 200 },
    from: { type: 'string', maxLength: 10, description: 'date (YYYY-MM-DD, UTC), fetched on or after' },
    to: { type: 'string', maxLength: 10, description: 'date (YYYY-MM-DD, UTC), fetched on or before' },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
    offset: { type: 'integer', minimum: 0, default: 0 },
  },
} as const;

export interface SearchParams {
  q?: string;
  mailbox?: string;
  state?: string;
  sender?: string;
  recipient?: string;
  subject?: string;
  messageId?: string;
  from?: string;
  to?: string;
  limit?: number;
  offset?: number;
}

const DAY_MS = 86_400_000;

function day(text: string | undefined): number | undefined {
  if (!text || !/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined;
  const t = Date.parse(`${text}T00:00:00Z`);
  return Number.isNaN(t) ? undefined : t;
}

export function toQuery(p: SearchParams) {
  const to = day(p.to);
  return {
    text: p.q || undefined,
    mailbox: p.mailbox || undefined,
    states: p.state ? [p.state as MessageState] : undefined,
    sender: p.sender || undefined,
    recipient: p.recipient || undefined,
    subject: p.subject || undefined,
    messageId: p.messageId || undefined,
    since: day(p.from),
    until: to === undefined ? undefined : to + DAY_MS,
    limit: p.limit ?? 50,
    offset: p.offset ?? 0,
  };
}

export function who(_ctx: WebContext, principal: import('./auth.js').Principal | undefined): string {
  if (!principal) return 'unknown';
  return principal.kind === 'session' ? principal.user : `token ${principal.name}`;
}

function actionFailed(reply: FastifyReply, err: unknown) {
  if (err instanceof ActionError) return reply.code(err.status).send({ error: err.message });
  throw err;
}

export function registerApi(app: FastifyInstance, ctx: WebContext): void {
  const d = () => ({ ...ctx.deps, now: ctx.now });

  app.get(
    '/api/status',
    { schema: { summary: 'Dashboard: mailboxes, target health, counts, activity' } },
    async () => data.dashboard(d()),
  );

  app.get(
    '/api/mailboxes/:name',
    { schema: { summary: 'A mailbox with its recent sessions', params: nameParams } },
    async (req, reply) => {
      const found = await data.mailbox(d(), (req.params as { name: string }).name);
      return found ?? reply.code(404).send({ error: 'no such mailbox' });
    },
  );

  const mailboxAction = (path: string, summary: string, act: (name: string) => void) =>
    app.post(path, { schema: { summary, params: nameParams } }, async (req, reply) => {
      const { name } = req.params as { name: string };
      if (!ctx.deps.scheduler.statuses().some((s) => s.name === name)) {
        return reply.code(404).send({ error: 'no such mailbox' });
      }
      act(name);
      ctx.deps.logger.info({ component: 'web', mailbox: name, by: who(ctx, req.principal) }, summary);
      return reply.code(202).send({ ok: true });
    });
  mailboxAction(
    '/api/mailboxes/:name/fetch',
    'Fetch now: start a pass (or one right after the running one)',
    (n) => ctx.deps.scheduler.requestRun(n),
  );
  mailboxAction('/api/mailboxes/:name/pause', 'Pause polling of a mailbox', (n) =>
    ctx.deps.scheduler.pause(n),
  );
  mailboxAction('/api/mailboxes/:name/resume', 'Resume polling of a mailbox', (n) =>
    ctx.deps.scheduler.resume(n),
  );

  app.get(
    '/api/messages',
    { schema: { summary: 'Search the message log, newest first', querystring: searchQuerySchema } },
    async (req) => data.searchMessages(d(), toQuery(req.query as SearchParams)),
  );

  app.get(
    '/api/messages/:id',
    { schema: { summary: 'A message: routing, every attempt with the replies, headers', params: idParams } },
    async (req, reply) => {
      const found = await data.message(d(), (req.params as { id: number }).id);
      return found ?? reply.code(404).send({ error: 'no such message' });
    },
  );

  app.post(
    '/api/messages/:id/release',
    {
      schema: {
        summary: 'Release a quarantined or deferred message to a recipient; delivered by a pass started now',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { recipient: { type: 'string', maxLength: 320 } },
          required: ['recipient'],
        },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: number };
      try {
        const message = await release(
          d(),
          id,
          (req.body as { recipient: string }).recipient,
          who(ctx, req.principal),
        );
        ctx.live.publish({ type: 'action', mailbox: message.mailbox, id });
        return { message };
      } catch (err) {
        return actionFailed(reply, err);
      }
    },
  );

  app.post(
    '/api/messages/:id/retry',
    { schema: { summary: 'Retry a deferred message now', params: idParams } },
    async (req, reply) => {
      const { id } = req.params as { id: number };
      try {
        const message = await retry(d(), id, who(ctx, req.principal));
        ctx.live.publish({ type: 'action', mailbox: message.mailbox, id });
        return { message };
      } catch (err) {
        return actionFailed(reply, err);
      }
    },
  );

  app.delete(
    '/api/messages/:id',
    {
      schema: {
        summary: 'Delete a quarantined or deferred message (bytes removed, record kept)',
        params: idParams,
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: number };
      try {
        const message = await remove(d(), id, who(ctx, req.principal));
        ctx.live.publish({ type: 'action', mailbox: message.mailbox, id });
        return { message };
      } catch (err) {
        return actionFailed(reply, err);
      }
    },
  );

  app.get('/api/config', { schema: { summary: 'The running configuration, secrets masked' } }, async () =>
    redactConfig(ctx.deps.config),
  );

  app.post(
    '/api/check-mailbox',
    {
      schema: {
        summary: 'Test a mailbox: connect, TLS, log in, list (nothing is fetched or stored)',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            host: { type: 'string', minLength: 1, maxLength: 253 },
            port: { type: 'integer', minimum: 1, maximum: 65535 },
            tls: { type: 'string', enum: ['none', 'starttls', 'tls'] },
            tlsVerify: { type: 'boolean' },
            user: { type: 'string', minLength: 1, maxLength: MAX_USER_LENGTH },
            password: { type: 'string', maxLength: MAX_PASSWORD_LENGTH },
            auth: { type: 'string', enum: ['auto', 'user', 'apop', 'plain', 'login'] },
          },
          required: ['host', 'user', 'password'],
        },
      },
    },
    async (req) => {
      const b = req.body as {
        host: string;
        port?: number;
        tls?: 'none' | 'starttls' | 'tls';
        tlsVerify?: boolean;
        user: string;
        password: string;
        auth?: MailboxConfig['auth'];
      };
      const tls = b.tls ?? 'tls';
      const mailbox: MailboxConfig = {
        name: 'test',
        protocol: 'pop3',
        host: b.host.trim(),
        port: b.port ?? defaultPort('pop3', tls),
        tls,
        tlsVerify: b.tlsVerify ?? true,
        user: b.user,
        password: b.password,
        auth: b.auth ?? 'auto',
        deliverTo: [],
        keep: true,
        enabled: true,
        interval: ctx.deps.config.scheduler.interval,
        maxMessageSize: ctx.deps.config.delivery.maxMessageSize,
        envelopeSender: 'return-path',
        timeouts: {},
      } as MailboxConfig;
      return ctx.checkMailbox(mailbox, ctx.deps.logger);
    },
  );

  app.get(
    '/api/events',
    { schema: { summary: 'Server-sent events: pass progress and state changes' } },
    (req, reply) => {
      reply.hijack();
      for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) reply.raw.setHeader(k, v);
      if (!ctx.live.attach(reply.raw)) {
        reply.raw.writeHead(503).end();
      }
      req.raw.on('close', () => reply.raw.end());
    },
  );

  app.get(
    '/metrics',
    {
      config: { public: ctx.deps.web.publicMetrics },
      schema: { summary: 'Prometheus metrics (text format 0.0.4); needs an API token unless publicMetrics' },
    },
    async (_req, reply) => reply.type(ctx.metrics.contentType).send(await ctx.metrics.render()),
  );

  app.get('/api/openapi.json', { schema: { summary: 'This API, described as OpenAPI 3.1' } }, async () =>
    openApiDocument(ctx.routes),
  );
}
