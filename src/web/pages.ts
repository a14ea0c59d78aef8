// The HTML pages (each shows what its /api twin returns) and logout.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { redactConfig } from '../config/index.js';
import { type SearchParams, toQuery } from './api.js';
import { cookie, parseCookies, SESSION_COOKIE } from './auth.js';
import { configText } from './config-text.js';
import * as data from './data.js';
import { requestTexts, type Texts } from './i18n.js';
import { searchQuery } from './schemas.js';
import type { WebContext } from './server.js';
import { configView } from './views/config.js';
import { dashboardView } from './views/dashboard.js';
import { subjectText } from './views/header-text.js';
import type { Html } from './views/html.js';
import { layout, type PageContext } from './views/layout.js';
import { mailboxView } from './views/mailbox.js';
import { messagesView, messageView } from './views/messages.js';
import { queueView } from './views/queue.js';

/** The queue page shows this many of each; more is a sign to search the log instead. */
const QUEUE_PAGE = 200;

export function registerPages(app: FastifyInstance, ctx: WebContext): void {
  const page = { page: true };
  const d = () => ({ ...ctx.deps, config: ctx.deps.config(), now: ctx.now });

  const texts = (req: FastifyRequest) => requestTexts(ctx.deps.web.language, req.headers['accept-language']);
  const send = (
    req: FastifyRequest,
    reply: FastifyReply,
    view: (t: Texts) => { title: string; section: PageContext['section']; body: Html },
  ) => {
    const t = texts(req);
    const { title, section, body } = view(t);
    const p = req.principal;
    const pc: PageContext = {
      user: p?.kind === 'session' ? p.user : p?.kind === 'token' ? t.token(p.name) : '',
      csrf: p?.kind === 'session' ? p.session.csrf : '',
      section,
      ...(ctx.deps.instance ? { instance: ctx.deps.instance } : {}),
    };
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('vary', 'accept-language')
      .send(layout(t, title, pc, body).value);
  };

  app.get('/', { config: page }, async (req, reply) => {
    const found = await data.dashboard(d());
    return send(req, reply, (t) => ({
      title: t.dashboard.title,
      section: 'dashboard',
      body: dashboardView(found, t),
    }));
  });

  app.get('/mailboxes/:name', { config: page }, async (req, reply) => {
    const found = await data.mailbox(d(), (req.params as { name: string }).name);
    if (!found) return reply.code(404).send({ error: 'no such mailbox' });
    return send(req, reply, (t) => ({
      title: found.mailbox.name,
      section: 'mailbox',
      body: mailboxView(found.mailbox, found.sessions, t),
    }));
  });

  app.get('/messages', { config: page, schema: { querystring: searchQuery } }, async (req, reply) => {
    const p = req.query as SearchParams;
    const result = await data.searchMessages(d(), toQuery(p));
    const names = ctx.deps.config().mailboxes.map((m) => m.name);
    return send(req, reply, (t) => ({
      title: t.messages.title,
      section: 'messages',
      body: messagesView(p, result, names, t),
    }));
  });

  app.get('/messages/:id', { config: page }, async (req, reply) => {
    const id = Number((req.params as { id: string }).id);
    const found = Number.isSafeInteger(id) ? await data.message(d(), id) : undefined;
    if (!found) return reply.code(404).send({ error: 'no such message' });
    return send(req, reply, (t) => ({
      title: subjectText(found.message.subject) ?? t.message.title(id),
      section: 'messages',
      body: messageView(found, t),
    }));
  });

  app.get('/queue', { config: page }, async (req, reply) => {
    const q = await ctx.deps.store.searchMessages({ states: ['quarantined'], limit: QUEUE_PAGE });
    const dq = await ctx.deps.store.searchMessages({ states: ['deferred'], limit: QUEUE_PAGE });
    return send(req, reply, (t) => ({
      title: t.queue.title,
      section: 'queue',
      body: queueView(q.messages, dq.messages, t),
    }));
  });

  app.get('/config', { config: page }, async (req, reply) => {
    const config = ctx.deps.config();
    const shown = configText(redactConfig(config));
    return send(req, reply, (t) => ({
      title: t.config.title,
      section: 'config',
      body: configView(
        shown,
        t,
        config.mailboxes.map((m) => m.name),
      ),
    }));
  });

  app.post('/logout', { config: page }, async (req, reply) => {
    await ctx.sessions.delete(parseCookies(req.headers.cookie).get(SESSION_COOKIE));
    return reply
      .header('set-cookie', cookie(SESSION_COOKIE, '', { secure: ctx.secure, maxAgeS: 0 }))
      .redirect('/login', 303);
  });
}
