// The API's mailbox routes: one mailbox with its sessions, fetch now / pause / resume, and the mailbox
// test (a configured mailbox by name, or connection details typed into the form).
import type { MailboxConfig } from '../config/index.js';
import { defaultPort } from '../config/schema-sections.js';
import { mailboxAction as actOnMailbox, type MailboxAction } from './actions.js';
import { type ApiApp, actionFailed, requestDeps, responses, who } from './api-route.js';
import * as data from './data.js';
import * as s from './schemas.js';
import type { WebContext } from './server.js';

export function registerMailboxRoutes(app: ApiApp, ctx: WebContext): void {
  const d = () => requestDeps(ctx);

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
}

export function registerMailboxCheck(app: ApiApp, ctx: WebContext): void {
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
}
