// The API's message routes: the log search, one message with its attempts, and the admin's changes
// to a message (release, retry, delete), each published on the event stream.
import type { z } from 'zod';
import { release, remove, retry } from './actions.js';
import { type ApiApp, actionFailed, requestDeps, responses, who } from './api-route.js';
import * as data from './data.js';
import * as s from './schemas.js';
import { toQuery } from './search-query.js';
import type { WebContext } from './server.js';

export function registerMessageRoutes(app: ApiApp, ctx: WebContext): void {
  const d = () => requestDeps(ctx);

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
}
