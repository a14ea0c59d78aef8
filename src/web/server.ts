// The admin web server (fastify): security headers and CSP, who-is-asking for every route (session
// cookie with CSRF token, or API token), rate limits, and the pages, JSON API, metrics and health.
import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type pg from 'pg';
import { checkMailbox as realCheckMailbox } from '../app/check.js';
import type { Config, MailboxConfig, WebConfig } from '../config/index.js';
import type { Target } from '../delivery/target.js';
import type { Logger } from '../log.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { Spool } from '../spool/spool.js';
import { type Holder, PgLoginLockout, PgSessions } from '../store/postgres-web.js';
import type { Store } from '../store/types.js';
import { registerApi } from './api.js';
import {
  checkToken,
  type Principal,
  parseCookies,
  SESSION_COOKIE,
  type SessionStore,
  Sessions,
  type WebUser,
} from './auth.js';
import { clip, FORM_BODY_LIMIT, JSON_BODY_LIMIT } from './limits.js';
import { LiveHub } from './live.js';
import { LoginGuard, type LoginLockout } from './login-guard.js';
import { Metrics } from './metrics.js';
import { registerOpenApi } from './openapi.js';
import { registerPages } from './pages.js';
import { registerPublic } from './public-routes.js';

/** Generous for one admin's browser and a Prometheus; stops a script hammering the API. */
const REQUESTS_PER_MINUTE = 600;
/**
 * A whole request, head and body, must arrive within this (a login form takes milliseconds; nginx
 * allows 60 s between reads of a body). Fastify's default is no limit: a client sending its body a byte
 * a minute would hold a connection and its buffer for ever. The event stream is a response, not bound.
 */
const REQUEST_TIMEOUT_MS = 30_000;

export interface WebDeps {
  /**
   * The configuration in force, read on every request: `postbote run` swaps it on SIGHUP, and the
   * pages must show what runs now, not what was started. (`web` itself needs a restart.)
   */
  config: () => Config;
  web: WebConfig;
  store: Store;
  spool: Spool;
  target: Target;
  scheduler: Scheduler;
  logger: Logger;
  /** Logins in addition to web.users (the demo's one-time password). */
  extraUsers?: WebUser[];
  /** How long a client may take to send a whole request (REQUEST_TIMEOUT_MS); shorter in tests. */
  requestTimeoutMs?: number;
  checkMailbox?: (mailbox: MailboxConfig, logger: Logger) => Promise<import('../app/check.js').CheckResult>;
  now?: () => number;
  /** This instance's name (instance: in the configuration), shown at the foot of every page. */
  instance?: string;
  /**
   * A PostgreSQL state that several instances share: sessions and the login lockout live there, so
   * every instance serves the same admin. Unset (a folder state, one instance): in this process.
   */
  sharedDb?: pg.Pool;
  /** Which instance holds each mailbox (PostgreSQL state); unset: not shown. */
  holders?: () => Promise<Map<string, Holder>>;
  /** Wakes a mailbox's pass on the instance that holds it; unset: this scheduler's requestRun. */
  wake?: (mailbox: string) => Promise<void>;
}

export interface RouteInfo {
  method: string;
  url: string;
  public: boolean;
  page: boolean;
  summary?: string;
}

export interface WebContext {
  deps: WebDeps;
  users: WebUser[];
  sessions: SessionStore;
  guard: LoginLockout;
  live: LiveHub;
  metrics: Metrics;
  secure: boolean;
  now: () => number;
  checkMailbox: NonNullable<WebDeps['checkMailbox']>;
  routes: RouteInfo[];
}

declare module 'fastify' {
  interface FastifySchema {
    /** One line for the OpenAPI document. */
    summary?: string;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Reachable without logging in (login page, health, static assets). */
    public?: boolean;
    /** An HTML page: an anonymous visitor is sent to the login page instead of getting 401. */
    page?: boolean;
  }
}

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export async function buildWebServer(deps: WebDeps): Promise<{ app: FastifyInstance; ctx: WebContext }> {
  const tls = deps.web.tls;
  const requestTimeout = deps.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  // Given to node's server too: set only afterwards (as fastify does), node does not enforce it. Node
  // looks for overdue requests on the interval (30 s by default, which would double the bound).
  const server = {
    requestTimeout,
    connectionsCheckingInterval: Math.max(100, Math.floor(requestTimeout / 6)),
  };
  const app = Fastify({
    logger: false,
    trustProxy: false,
    bodyLimit: JSON_BODY_LIMIT,
    requestTimeout,
    ...(tls ? { https: { ...server, cert: tls.certPem, key: tls.keyPem } } : { http: server }),
  }) as unknown as FastifyInstance;
  const now = deps.now ?? Date.now;
  const users = [...deps.web.users, ...(deps.extraUsers ?? [])];
  const ctx: WebContext = {
    deps,
    users,
    sessions: deps.sharedDb
      ? new PgSessions(deps.sharedDb, deps.web.sessionLifetime, now)
      : new Sessions(deps.web.sessionLifetime, now),
    guard: deps.sharedDb
      ? new PgLoginLockout(
          deps.sharedDb,
          users.map((u) => u.user),
          now,
        )
      : new LoginGuard({ users: users.map((u) => u.user), now }),
    live: new LiveHub(),
    metrics: new Metrics(deps),
    secure: tls !== undefined,
    now,
    checkMailbox: deps.checkMailbox ?? realCheckMailbox,
    routes: [],
  };
  const log = deps.logger.child({ component: 'web' });

  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === 'HEAD') continue;
      ctx.routes.push({
        method,
        url: route.url,
        public: route.config?.public === true,
        page: route.config?.page === true,
        summary: (route.schema as { summary?: string } | undefined)?.summary,
      });
    }
  });

  // Every schema is zod: requests are validated and responses serialized by the schemas that also
  // give the handlers their types and the OpenAPI document its content.
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await registerOpenApi(app);
  await app.register(rateLimit, { global: true, max: REQUESTS_PER_MINUTE, timeWindow: 60_000 });
  await app.register(formbody, { bodyLimit: FORM_BODY_LIMIT });

  app.addHook('onRequest', async (req, reply) => {
    reply.header('content-security-policy', CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    if (ctx.secure) reply.header('strict-transport-security', 'max-age=31536000');
    const config = req.routeOptions.config;
    req.principal = await identify(ctx, req);
    if (config?.public) return;
    if (!req.principal) return refuse(req, reply, config?.page === true);
    if (req.principal.kind === 'session' && !SAFE_METHODS.has(req.method)) {
      // Forms carry the token in their body, checked once it is parsed (preHandler); anything else
      // must send the header, and is refused here before its body is even read.
      if (req.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) return;
      if (req.headers['x-csrf-token'] !== req.principal.session.csrf) {
        return reply.code(403).send({ error: 'missing or wrong CSRF token (X-CSRF-Token header)' });
      }
    }
  });

  app.addHook('preHandler', async (req, reply) => {
    const p = req.principal;
    if (req.routeOptions.config?.public || !p || p.kind !== 'session' || SAFE_METHODS.has(req.method)) return;
    const sent = req.headers['x-csrf-token'] ?? (req.body as { _csrf?: unknown } | undefined)?._csrf;
    if (typeof sent !== 'string' || sent !== p.session.csrf) {
      return reply.code(403).send({ error: 'missing or wrong CSRF token' });
    }
  });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) log.error({ err, url: clip(req.url) }, 'web request failed');
    reply.code(status).send({ error: status >= 500 ? 'internal error (see the log)' : err.message });
  });

  registerPublic(app, ctx);
  registerApi(app, ctx);
  registerPages(app, ctx);

  const stopWatching = deps.scheduler.watch({
    onEvent: (event) => {
      ctx.metrics.onEvent(event);
      ctx.live.publish({ ...event, type: event.type });
    },
    onPass: (s) => {
      ctx.metrics.onPass(s);
      ctx.live.publish({ type: 'pass', mailbox: s.mailbox, ok: s.ok, fetched: s.fetched });
    },
    onState: (s) => ctx.live.publish({ type: 'state', mailbox: s.name, state: s.state }),
  });
  const stopTimings = ctx.metrics.watchTarget(deps.target);
  app.addHook('preClose', async () => {
    stopWatching();
    stopTimings();
    ctx.live.close();
  });
  return { app, ctx };
}

async function identify(ctx: WebContext, req: FastifyRequest): Promise<Principal | undefined> {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) {
    const name = checkToken(ctx.deps.web.apiTokens, auth.slice(7).trim());
    return name ? { kind: 'token', name } : undefined;
  }
  const id = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
  const session = await ctx.sessions.get(id);
  return session ? { kind: 'session', user: session.user, session } : undefined;
}

function refuse(req: FastifyRequest, reply: FastifyReply, page: boolean) {
  if (page && req.method === 'GET') {
    return reply.redirect(`/login?next=${encodeURIComponent(req.url)}`, 303);
  }
  return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'log in or send an API token' });
}

export interface WebServer {
  url: string;
  ctx: WebContext;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** Builds and listens on web.listen ("host:port", "[v6]:port"). */
export async function startWebServer(deps: WebDeps): Promise<WebServer> {
  const { app, ctx } = await buildWebServer(deps);
  const m = /^\[?([^\]]+)\]?:(\d+)$/.exec(deps.web.listen);
  const host = m?.[1] ?? '127.0.0.1';
  await app.listen({ host, port: Number(m?.[2] ?? 8025) });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const shown = host.includes(':') ? `[${host}]` : host;
  return { url: `${ctx.secure ? 'https' : 'http'}://${shown}:${port}`, ctx, app, close: () => app.close() };
}
