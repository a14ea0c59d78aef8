// ClamAV's clamd over INSTREAM (TCP or Unix socket): the spool file streamed in chunks, one reply.
import type { Readable } from 'node:stream';
import { chunkHeader, END_OF_STREAM, INSTREAM_COMMAND, parseClamdReply } from './clamd-protocol.js';
import { type Endpoint, endpointName, exchange, writeStream } from './socket-exchange.js';

// One reply line: "stream: <signature> FOUND" — signatures are short; 4 KiB is plenty and bounds it.
const MAX_CLAMD_REPLY = 4096;
/**
 * Bytes per INSTREAM chunk, gathered from the spool's smaller reads: few large writes give clamd's
 * "size limit exceeded" reply fewer chances to be lost to the reset our next write meets (see below).
 */
const INSTREAM_CHUNK = 256 * 1024;
/**
 * Connections one scan may use: the first, and new ones after that reset (it rarely repeats twice;
 * a clamd that really is going away fails every time).
 */
const MAX_SCAN_CONNECTIONS = 3;

export type ClamdVerdict = { infected: false; tooLarge?: string } | { infected: true; virus: string };

/**
 * clamd answers "INSTREAM size limit exceeded" and closes at once, while the message is still being
 * sent: our next write then meets its reset, and the kernel drops the reply we had not read yet. So a
 * connection reset while sending, with no reply read, is asked again on a new connection, up to
 * MAX_SCAN_CONNECTIONS in all.
 */
export async function clamdScan(
  endpoint: Endpoint,
  body: () => Readable,
  timeout: number,
): Promise<ClamdVerdict> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await scanOnce(endpoint, body, timeout);
    } catch (err) {
      if (!resetWhileSending(err) || attempt >= MAX_SCAN_CONNECTIONS) throw err;
    }
  }
}

function resetWhileSending(err: unknown): boolean {
  const code = (
    (err as { cause?: NodeJS.ErrnoException } | undefined)?.cause as NodeJS.ErrnoException | undefined
  )?.code;
  return code === 'EPIPE' || code === 'ECONNRESET';
}

function scanOnce(endpoint: Endpoint, body: () => Readable, timeout: number): Promise<ClamdVerdict> {
  return exchange<ClamdVerdict>({
    endpoint,
    where: `clamd ${endpointName(endpoint)}`,
    timeout,
    maxReply: MAX_CLAMD_REPLY,
    async write(socket) {
      socket.write(INSTREAM_COMMAND);
      await writeStream(socket, body(), (c, length) => [chunkHeader(length), ...c], INSTREAM_CHUNK);
      if (!socket.destroyed) socket.write(END_OF_STREAM);
    },
    parse(reply) {
      const r = parseClamdReply(reply);
      if (r.kind === 'more') return r;
      if (r.kind === 'error') return r;
      if (r.kind === 'too-large') return { kind: 'done', value: { infected: false, tooLarge: r.message } };
      return {
        kind: 'done',
        value: r.kind === 'clean' ? { infected: false } : { infected: true, virus: r.virus },
      };
    },
  });
}
