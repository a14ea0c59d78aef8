// What answers without a login: the login form (double-submit CSRF token, rate limit, lockout),
// /healthz, and the stylesheet and script (no secrets in them).
import type { FastifyInstance } from 'fastify';
import {
  checkLogin,
  cookie,
  LOGIN_COOKIE,
  parseCookies,
  randomToken,
  SESSION_COOKIE,
  sameSecret,
} from './auth.js';
import { clip, MAX_FORM_TOKEN_LENGTH, MAX_PASSWORD_LENGTH, MAX_USER_LENGTH } from './limits.js';
import { MAX_NEXT_LENGTH, safeNext } from './safe-next.js';
import type { WebContext } from './server.js';
import { APP_CSS } from './static/app-css.js';
import { APP_JS } from './static/app-js.js';
import { loginPage } from './views/login.js';

/** Login attempts per client address per minute, before the per-user lockout even counts. */
const LOGINS_PER_MINUTE = 10;
/** The login form's token lives as long as someone plausibly takes to type a password. */
const LOGIN_FORM_S = 600;

/** Checked before the handler: a field over its bound never reaches argon2, the lockout or the log. */
const loginBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    user: { type: 'string', maxLength: MAX_USER_LENGTH },
    password: { type: 'string', maxLength: MAX_PASSWORD_LENGTH },
    _csrf: { type: 'string', maxLength: MAX_FORM_TOKEN_LENGTH },
    next: { type: 'string', maxLength: MAX_NEXT_LENGTH },
  },
} as const;

export function registerPublic(app: FastifyInstance, ctx: WebContext): void {
  const pub = { public: true };

  app.get(
    '/healthz',
    { config: pub, schema: { summary: 'Liveness: 200 while the process serves' } },
    async () => ({
      ok: true,
      mailboxes: ctx.deps.scheduler.statuses().length,
    }),
  );

  app.get('/static/app.css', { config: pub }, async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(APP_CSS),
  );
  app.get('/static/app.js', { config: pub }, async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(APP_JS),
  );
  app.get('/favicon.ico', { config: pub }, async (_req, reply) => reply.code(204).send());

  const form = (reply: import('fastify').FastifyReply, next: string, error?: string, status = 200) => {
    const token = randomToken();
    return reply
      .code(status)
      .header(
        'set-cookie',
        cookie(LOGIN_COOKIE, token, { secure: ctx.secure, maxAgeS: LOGIN_FORM_S, path: '/login' }),
      )
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(loginPage({ token, next, error, noUsers: ctx.users.length === 0 }).value);
  };

  app.get('/login', { config: pub }, async (req, reply) =>
    form(reply, safeNext((req.query as { next?: unknown }).next)),
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
        const limits = `at most ${MAX_USER_LENGTH} characters for the user name, ${MAX_PASSWORD_LENGTH} for the password`;
        return form(reply, '/', `A field of the form is too long (${limits}).`, 400);
      }
      const body = (req.body ?? {}) as Record<string, unknown>;
      const next = safeNext(body.next);
      const sent = typeof body._csrf === 'string' ? body._csrf : '';
      const expected = parseCookies(req.headers.cookie).get(LOGIN_COOKIE) ?? '';
      if (sent === '' || expected === '' || !sameSecret(sent, expected)) {
        return form(reply, next, 'The form expired; please log in again.', 403);
      }
      const user = typeof body.user === 'string' ? body.user.trim() : '';
      const password = typeof body.password === 'string' ? body.password : '';
      const locked = ctx.guard.lockedFor(user);
      if (locked > 0) {
        const minutes = Math.ceil(locked / 60_000);
        return form(reply, next, `Too many failed logins for this user: try again in ${minutes} min.`, 429);
      }
      if (!(await checkLogin(ctx.users, user, password))) {
        ctx.guard.failed(user);
        ctx.deps.logger.warn({ component: 'web', user: clip(user), ip: req.ip }, 'web login failed');
        return form(reply, next, 'Wrong user name or password.', 401);
      }
      ctx.guard.succeeded(user);
      const { id } = ctx.sessions.create(user);
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
