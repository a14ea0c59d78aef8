// DATA on a receive connector: the body bounded by maxMessageSize behind our trace header, the data
// rate watched, the message delivered, and 250 only once it is stored or the next hop accepted it.
import type { SMTPServerOptions } from 'smtp-server';
import type { ReceiveConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import { guardBody } from './body-guard.js';
import { watchDataRate } from './data-rate.js';
import type { Deliver } from './deliver.js';
import type { Answer } from './relay.js';
import type { SessionGuard } from './session-guard.js';
import { reply } from './smtp-reply.js';
import { traceHeader } from './trace.js';

export type DataHandler = NonNullable<SMTPServerOptions['onData']>;

/** smtp-server's onData for one listener. */
export function dataHandler(
  config: ReceiveConfig,
  fqdn: string,
  log: Logger,
  sessions: SessionGuard,
  deliver: Deliver,
): DataHandler {
  return (stream, session, callback) => {
    const envelope = {
      from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
      to: session.envelope.rcptTo.map((r) => r.address),
    };
    const trace = Buffer.from(traceHeader(session, fqdn, new Date()), 'latin1');
    const guarded = guardBody(stream, config.maxMessageSize, trace);
    watchDataRate(stream, config.minDataRate, config.timeouts.idle, () => {
      log.warn(
        { cid: session.id, minDataRate: config.minDataRate },
        'data rate below minimum: closing with 421',
      );
      sessions.close(session.id, `4.4.2 Data rate below ${config.minDataRate} bytes/s, closing connection`);
    });
    // The message is in: the session's deadline now waits for its reply.
    guarded.done.then(() => sessions.replyOwed(session.id)).catch(() => {});
    const respond = (err: Error | null, message?: string) => {
      if (err) callback(err);
      else callback(null, message);
      sessions.replied(session.id);
    };
    const delivered = deliver(envelope, guarded.body, session.id).then(
      (answer) => answer,
      (err: unknown): Answer => {
        guarded.body.destroy();
        log.error({ cid: session.id, err }, 'delivery failed');
        return { code: 451, message: '4.3.0 Local delivery failed, try again later' };
      },
    );
    Promise.all([delivered, guarded.done])
      .then(([answer, data]) => {
        if (data.exceeded) {
          log.warn({ cid: session.id, bytes: data.bytes }, 'refused: message over maxMessageSize');
          return respond(
            reply(552, `5.3.4 Message exceeds fixed maximum message size ${config.maxMessageSize}`),
          );
        }
        const fields = { cid: session.id, from: envelope.from, to: envelope.to, bytes: data.bytes };
        if (answer.code < 300) {
          log.info({ ...fields, code: answer.code }, `accepted: ${answer.message}`);
          return respond(null, answer.message);
        }
        log.warn({ ...fields, code: answer.code }, `not accepted: ${answer.message}`);
        respond(reply(answer.code, answer.message));
      })
      .catch((err) => respond(reply(451, `4.3.0 Reading the message failed (${(err as Error).message})`)));
  };
}
