// The JSON API behind every page (also for scripts, with an API token), the event stream, /metrics
// and the OpenAPI document built from these routes' own schemas.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import type { MailboxConfig } from '../config/index.js';
import { redactConfig } from '../config/index.js';
import { defaultPort } from '../config/schema-sections.js';
import type { MessageState } from '../store/types.js';
import {
  ActionError,
  mailboxAction as actOnMailbox,
  type MailboxAction,
  release,
  remove,
  retry,
} from './actions.js';
import * as data from './data.js';
import { openApiDocument } from './openapi.js';
import * as s from './schemas.js';
import type { WebContext } from './server.js';

export type { SearchParams } from './schemas.js';

/** A response that is not JSON (the event stream, the metrics). */
type TextResponse = { description: string; content: Record<string, { schema: z.ZodType }> };

/**
 * A route's responses: what it answers, plus the refusals every route can get before its handler (no
 * login, a session change without CSRF token, a request its schema refuses).
 */
function responses<R extends Record<number, z.ZodType | TextResponse>>(
  ok: R,
  o: { change?: boolean; input?: boolean; open?: boolean } = {},
) {
  return {
    ...ok,
    ...(o.open ? {} : { 401: s.problem.describe('no session and no API token') }),
    ...(o.change ? { 403: s.problem.describe('session without the CSRF token') } : {}),
    ...(o.input ? { 400: s.problem.describe('parameters or body refused by the schema') } : {}),
  };
}

const DAY_MS = 86_400_000;

function day(text: string | undefined): number | undefined {
  if (!text || !/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined;
  const t = Date.parse(`${text}T00:00:00Z`);
  return Number.isNaN(t) ? undefined : t;
}

export function toQuery(p: s.SearchParams) {
  const to = day(p.to);
  return {
    text: p.q || undefined,
    mailbox: p.mailbox || undefined,
    states: p.state ? [p.state satisfies MessageState] : undefined,
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

export function registerApi(fastify: FastifyInstance, ctx: WebContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const d = () => ({ ...ctx.deps, config: ctx.deps.config(), now: ctx.now });

  app.get(
    '/api/status',
    {
      schema: {
        summary: 'Dashboard: mailboxes, target health, counts, activity',
        response: responses({ 200: s.dashboard }),
      },
    },
    async () => data.dashboard(d()),
  );

  app.get(
    '/api/mailboxes/:name',
    {
      schema: {
        summary: 'A mailbox with its recent sessions',
        params: s.nameParams,
        response: responses({ 200: s.mailboxDetail, 404: s.problem }, { input: true }),
      },
    },
    async (req, reply) => {
      const found = await data.mailbox(d(), req.params.name);
      return found ?? reply.code(404).send({ error: 'no such mailbox' });
    },
  );

  const mailboxAction = (path: string, summary: string, action: MailboxAction) =>
    app.post(
      path,
      {
        schema: {
          summary,
          params: s.nameParams,
          response: responses({ 202: s.accepted, 404: s.problem }, { change: true, input: true }),
        },
      },
      async (req, reply) => {
        try {
          await actOnMailbox(d(), action, req.params.name, who(ctx, req.principal));
        } catch (err) {
          return actionFailed(reply, err);
        }
        return reply.code(202).send({ ok: true });
      },
    );
  mailboxAction(
    '/api/mailboxes/:name/fetch',
    'Fetch now: start a pass (or one right after the running one)',
    'fetch',
  );
  mailboxAction('/api/mailboxes/:name/pause', 'Pause polling of a mailbox', 'pause');
  mailboxAction('/api/mailboxes/:name/resume', 'Resume polling of a mailbox', 'resume');

  app.get(
    '/api/messages',
    {
      schema: {
        summary: 'Search the message log, newest first',
        querystring: s.searchQuery,
        response: responses({ 200: s.messagePage }, { input: true }),
      },
    },
    async (req) => data.searchMessages(d(), toQuery(req.query)),
  );

  app.get(
    '/api/messages/:id',
    {
      schema: {
        summary: 'A message: routing, every attempt with the replies, headers',
        params: s.idParams,
        response: responses({ 200: s.messageDetail, 404: s.problem }, { input: true }),
      },
    },
    async (req, reply) => {
      const found = await data.message(d(), req.params.id);
      return found ?? reply.code(404).send({ error: 'no such message' });
    },
  );

  /** A change to one message: its record afterwards, or why not (400, 404, 409). */
  const messageAction = (
    method: 'post' | 'delete',
    path: string,
    summary: string,
    act: (id: number, body: unknown, by: string) => ReturnType<typeof retry>,
    body?: z.ZodType,
  ) =>
    app[method](
      path,
      {
        schema: {
          summary,
          params: s.idParams,
          ...(body ? { body } : {}),
          response: responses(
            { 200: s.changedMessage, 404: s.problem, 409: s.problem },
            { change: true, input: true },
          ),
        },
      },
      async (req, reply) => {
        const { id } = req.params as z.output<typeof s.idParams>;
        try {
          const message = await act(id, req.body, who(ctx, req.principal));
          ctx.live.publish({ type: 'action', mailbox: message.mailbox, id });
          return { message };
        } catch (err) {
          return actionFailed(reply, err);
        }
      },
    );
  messageAction(
    'post',
    '/api/messages/:id/release',
    'Release a quarantined or deferred message to a recipient; delivered by a pass started now',
    (id, body, by) => release(d(), id, (body as z.output<typeof s.releaseBody>).recipient, by),
    s.releaseBody,
  );
  messageAction('post', '/api/messages/:id/retry', 'Retry a deferred message now', (id, _b, by) =>
    retry(d(), id, by),
  );
  messageAction(
    'delete',
    '/api/messages/:id',
    'Delete a quarantined or deferred message (bytes removed, record kept)',
    (id, _b, by) => remove(d(), id, by),
  );

  app.get(
    '/api/config',
    {
      schema: {
        summary: 'The running configuration, secrets masked',
        response: responses({ 200: s.document.describe('the configuration as written') }),
      },
    },
    async () => redactConfig(ctx.deps.config()) as Record<string, unknown>,
  );

  app.post(
    '/api/check-mailbox',
    {
      schema: {
        summary:
          'Test a mailbox: connect, TLS, log in, list (nothing is fetched or stored); a configured one by name, with its own sign-in',
        body: s.checkMailboxBody,
        response: responses({ 200: s.checkResult, 404: s.problem }, { change: true, input: true }),
      },
    },
    async (req, reply) => {
      const b = req.body;
      const config = ctx.deps.config();
      if ('mailbox' in b) {
        // As configured, with its password or stored OAuth2 sign-in (refreshed like a pass does).
        const configured = config.mailboxes.find((m) => m.name === b.mailbox);
        if (!configured) return reply.code(404).send({ error: `no mailbox named ${b.mailbox}` });
        return ctx.checkMailbox(configured, ctx.deps.logger);
      }
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
        interval: config.scheduler.interval,
        maxMessageSize: config.delivery.maxMessageSize,
        envelopeSender: 'return-path',
        timeouts: {},
      } as MailboxConfig;
      return ctx.checkMailbox(mailbox, ctx.deps.logger);
    },
  );

  app.get(
    '/api/events',
    {
      schema: {
        summary: 'Server-sent events: pass progress and state changes',
        response: responses({
          200: {
            description: 'one JSON object per event',
            content: { 'text/event-stream': { schema: s.text } },
          },
        }),
      },
    },
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
      schema: {
        summary: 'Prometheus metrics (text format 0.0.4); needs an API token unless publicMetrics',
        response: responses(
          {
            200: {
              description: 'Prometheus text exposition format 0.0.4',
              content: { 'text/plain': { schema: s.text } },
            },
          },
          { open: ctx.deps.web.publicMetrics },
        ),
      },
    },
    async (_req, reply) => reply.type(ctx.metrics.contentType).send(await ctx.metrics.render()),
  );

  app.get(
    '/api/openapi.json',
    {
      schema: {
        summary: 'This API, described as OpenAPI 3.1',
        response: responses({ 200: s.document.describe('an OpenAPI 3.1 document') }),
      },
    },
    async () => openApiDocument(fastify),
  );
}
