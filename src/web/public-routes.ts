// What answers without a login: the login form (double-submit CSRF token, rate limit, lockout),
// /healthz, and the stylesheet and script (no secrets in them).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  checkLogin,
  cookie,
  LOGIN_COOKIE,
  parseCookies,
  randomToken,
  SESSION_COOKIE,
  sameSecret,
} from './auth.js';
import { requestTexts, type Texts } from './i18n.js';
import { clip, MAX_FORM_TOKEN_LENGTH, MAX_PASSWORD_LENGTH, MAX_USER_LENGTH } from './limits.js';
import { MAX_NEXT_LENGTH, safeNext } from './safe-next.js';
import { health } from './schemas.js';
import type { WebContext } from './server.js';
import { loadAssets } from './static/assets.js';
import { loginPage } from './views/login.js';

/** Login attempts per client address per minute, before the per-user lockout even counts. */
const LOGINS_PER_MINUTE = 10;
/** The login form's token lives as long as someone plausibly takes to type a password. */
const LOGIN_FORM_S = 600;

/** Checked before the handler: a field over its bound never reaches argon2, the lockout or the log. */
const loginBody = z.object({
  user: z.string().max(MAX_USER_LENGTH).optional(),
  password: z.string().max(MAX_PASSWORD_LENGTH).optional(),
  _csrf: z.string().max(MAX_FORM_TOKEN_LENGTH).optional(),
  next: z.string().max(MAX_NEXT_LENGTH).optional(),
});

export function registerPublic(app: FastifyInstance, ctx: WebContext): void {
  const pub = { public: true };

  app.get(
    '/healthz',
    {
      config: pub,
      schema: { summary: 'Liveness: 200 while the process serves', response: { 200: health } },
    },
    async () => ({
      ok: true,
      mailboxes: ctx.deps.scheduler.statuses().length,
    }),
  );

  // Read once here, so a missing file stops the start instead of the first page view.
  const assets = loadAssets();
  app.get('/static/:file', { config: pub }, async (req, reply) => {
    const asset = assets.get((req.params as { file: string }).file);
    if (!asset) return reply.code(404).send({ error: 'no such file' });
    return reply.type(asset.type).header('cache-control', 'no-cache').send(asset.body);
  });
  app.get('/favicon.ico', { config: pub }, async (_req, reply) => reply.code(204).send());

  const form = (
    req: FastifyRequest,
    reply: FastifyReply,
    next: string,
    error?: (t: Texts) => string,
    status = 200,
  ) => {
    const t = requestTexts(ctx.deps.web.language, req.headers['accept-language']);
    const token = randomToken();
    return reply
      .code(status)
      .header(
        'set-cookie',
        cookie(LOGIN_COOKIE, token, { secure: ctx.secure, maxAgeS: LOGIN_FORM_S, path: '/login' }),
      )
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .header('vary', 'accept-language')
      .send(loginPage(t, { token, next, error: error?.(t), noUsers: ctx.users.length === 0 }).value);
  };

  app.get('/login', { config: pub }, async (req, reply) =>
    form(req, reply, safeNext((req.query as { next?: unknown }).next)),
  );

  app.post(
    '/login',
    {
      config: { ...pub, rateLimit: { max: LOGINS_PER_MINUTE, timeWindow: 60_000 } },
      schema: { body: loginBody },
      // A browser gets its form back with the reason rather than a JSON error.
      attachValidation: true,
    },
    async (req, reply) => {
      if (req.validationError) {
        return form(req, reply, '/', (t) => t.login.tooLong(MAX_USER_LENGTH, MAX_PASSWORD_LENGTH), 400);
      }
      const body = (req.body ?? {}) as Record<string, unknown>;
      const next = safeNext(body.next);
      const sent = typeof body._csrf === 'string' ? body._csrf : '';
      const expected = parseCookies(req.headers.cookie).get(LOGIN_COOKIE) ?? '';
      if (sent === '' || expected === '' || !sameSecret(sent, expected)) {
        return form(req, reply, next, (t) => t.login.expired, 403);
      }
      const user = typeof body.user === 'string' ? body.user.trim() : '';
      const password = typeof body.password === 'string' ? body.password : '';
      const locked = await ctx.guard.lockedFor(user);
      if (locked > 0) {
        const minutes = Math.ceil(locked / 60_000);
        return form(req, reply, next, (t) => t.login.locked(minutes), 429);
      }
      if (!(await checkLogin(ctx.users, user, password))) {
        await ctx.guard.failed(user);
        ctx.deps.logger.warn({ component: 'web', user: clip(user), ip: req.ip }, 'web login failed');
        return form(req, reply, next, (t) => t.login.wrong, 401);
      }
      await ctx.guard.succeeded(user);
      const { id } = await ctx.sessions.create(user);
      const maxAgeS = Math.floor(ctx.deps.web.sessionLifetime / 1000);
      return reply
        .header('set-cookie', [
          cookie(SESSION_COOKIE, id, { secure: ctx.secure, maxAgeS }),
          cookie(LOGIN_COOKIE, '', { secure: ctx.secure, maxAgeS: 0, path: '/login' }),
        ])
        .redirect(next, 303);
    },
  );
}
