// SpamAssassin's spamd (SPAMC/1.5 SYMBOLS): the spool file streamed after the request head.
import type { Readable } from 'node:stream';
import { type Endpoint, endpointName, exchange, writeStream } from './socket-exchange.js';
import { parseSpamdReply, type SpamdReply, spamdRequest } from './spamd-protocol.js';

// A status line, three headers and the names of the rules that hit (a few KiB at most).
const MAX_SPAMD_REPLY = 64 * 1024;

export function spamdScan(
  endpoint: Endpoint,
  body: () => Readable,
  size: number,
  timeout: number,
  user?: string,
): Promise<SpamdReply> {
  return exchange<SpamdReply>({
    endpoint,
    where: `spamd ${endpointName(endpoint)}`,
    timeout,
    maxReply: MAX_SPAMD_REPLY,
    async write(socket) {
      socket.write(spamdRequest(size, user));
      await writeStream(socket, body());
      // spamd reads Content-length bytes; half-closing tells older versions the request is complete.
      if (!socket.destroyed) socket.end();
    },
    parse(reply) {
      const r = parseSpamdReply(reply);
      return r.kind === 'done' ? { kind: 'done', value: r.reply } : r;
    },
  });
}
