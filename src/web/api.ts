// The JSON API behind every page (also for scripts, with an API token), the event stream, /metrics
// and the OpenAPI document built from these routes' own schemas.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { redactConfig } from '../config/index.js';
import { registerMailboxCheck, registerMailboxRoutes } from './api-mailboxes.js';
import { registerMessageRoutes } from './api-messages.js';
import { requestDeps, responses } from './api-route.js';
import * as data from './data.js';
import { openApiDocument } from './openapi.js';
import * as s from './schemas.js';
import type { WebContext } from './server.js';

export { who } from './api-route.js';
export type { SearchParams } from './schemas.js';
export { toQuery } from './search-query.js';

/**
 * Every route of the API. The order is the OpenAPI document's order of paths: the route modules are
 * registered where their routes always were, so the document stays as it was.
 */
export function registerApi(fastify: FastifyInstance, ctx: WebContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  app.get(
    '/api/status',
    {
      schema: {
        summary: 'Dashboard: mailboxes, target health, counts, activity',
        response: responses({ 200: s.dashboard }),
      },
    },
    async () => data.dashboard(requestDeps(ctx)),
  );

  registerMailboxRoutes(app, ctx);
  registerMessageRoutes(app, ctx);

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

  registerMailboxCheck(app, ctx);

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
