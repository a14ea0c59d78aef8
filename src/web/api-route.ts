// What every JSON API route module shares: the zod-typed fastify instance, the refusals documented on
// every route, the deps of one request, who made it, and an action's refusal as a reply.
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyReply,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { ActionError } from './actions.js';
import type { Principal } from './auth.js';
import * as s from './schemas.js';
import type { WebContext } from './server.js';

/** The server as the API routes see it: params, bodies and replies typed from their zod schemas. */
export type ApiApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** A response that is not JSON (the event stream, the metrics). */
type TextResponse = { description: string; content: Record<string, { schema: z.ZodType }> };

/**
 * A route's responses: what it answers, plus the refusals every route can get before its handler (no
 * login, a session change without CSRF token, a request its schema refuses).
 */
export function responses<R extends Record<number, z.ZodType | TextResponse>>(
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

/** What data.ts and actions.ts are given for one request: the configuration in force, the clock. */
export function requestDeps(ctx: WebContext) {
  return { ...ctx.deps, config: ctx.deps.config(), now: ctx.now };
}

export function who(_ctx: WebContext, principal: Principal | undefined): string {
  if (!principal) return 'unknown';
  return principal.kind === 'session' ? principal.user : `token ${principal.name}`;
}

export function actionFailed(reply: FastifyReply, err: unknown) {
  if (err instanceof ActionError) return reply.code(err.status).send({ error: err.message });
  throw err;
}
