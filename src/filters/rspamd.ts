// rspamd's normal worker over HTTP (/checkv2): the spool file as the request body, the envelope as
// request headers, a bounded JSON reply.
import { request } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PostboteError } from '../errors.js';
import { parseRspamdReply, type RspamdEnvelope, type RspamdReply, rspamdHeaders } from './rspamd-protocol.js';
import { type Endpoint, endpointName, seconds } from './socket-exchange.js';

// The reply lists every symbol with its description: tens of KiB for busy mail; 1 MiB bounds it.
const MAX_RSPAMD_REPLY = 1024 * 1024;

export function rspamdScan(
  endpoint: Endpoint,
  body: () => Readable,
  size: number,
  envelope: RspamdEnvelope,
  timeout: number,
): Promise<RspamdReply> {
  const where = `rspamd ${endpointName(endpoint)}`;
  const fail = (message: string, cause?: unknown) =>
    new PostboteError('FILTER_UNAVAILABLE', message, { temporary: true, where, cause });
  return new Promise<RspamdReply>((resolve, reject) => {
    let settled = false;
    const done = (err: PostboteError | undefined, value?: RspamdReply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      if (err) reject(err);
      else resolve(value as RspamdReply);
    };
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of rspamdHeaders(envelope, size)) headers[k] = v;
    const req = request({
      ...(endpoint.socket
        ? { socketPath: endpoint.socket }
        : { host: endpoint.host ?? '127.0.0.1', port: endpoint.port ?? 11333 }),
      method: 'POST',
      path: '/checkv2',
      headers,
      agent: false,
    });
    const timer = setTimeout(
      () => done(fail(`no verdict within ${seconds(timeout)} (filters timeout)`)),
      timeout,
    );
    req.on('error', (err: NodeJS.ErrnoException) =>
      done(
        fail(
          err.code === 'ECONNREFUSED' || err.code === 'ENOENT'
            ? 'not reachable (connection refused)'
            : err.message,
          err,
        ),
      ),
    );
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let length = 0;
      res.on('data', (c: Buffer) => {
        length += c.length;
        if (length > MAX_RSPAMD_REPLY) return done(fail(`reply longer than ${MAX_RSPAMD_REPLY} bytes`));
        chunks.push(c);
      });
      res.on('error', (err) => done(fail(err.message, err)));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return done(fail(`HTTP ${res.statusCode}: ${text.slice(0, 120)}`));
        const parsed = parseRspamdReply(text);
        if ('error' in parsed) done(fail(parsed.error));
        else done(undefined, parsed);
      });
    });
    pipeline(body(), req).catch((err) => {
      if (!settled) done(fail(`sending the message failed: ${(err as Error).message}`, err));
    });
  });
}
