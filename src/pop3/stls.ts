// STLS (RFC 2595) on a plain connection before login: asked of the server, then the socket handed to
// connect.ts for the TLS upgrade. With tls: starttls, a server that will not do it is never logged in to.
import { PostboteError } from '../errors.js';
import { upgradeSocket } from './connect.js';
import type { Pop3Connection } from './connection.js';
import type { DEFAULT_TIMEOUTS, Pop3Options } from './options.js';
import { type Pop3Reply, toServerReply } from './reply.js';

/**
 * Upgrades `conn` to TLS; on any failure the connection is failed and the error thrown. `offered`:
 * false when CAPA answered without STLS (nothing is sent then).
 */
export async function startTls(
  conn: Pop3Connection,
  options: Pop3Options,
  where: string,
  timeouts: typeof DEFAULT_TIMEOUTS,
  offered: boolean,
): Promise<void> {
  const refuse = (why: string, reply?: Pop3Reply) =>
    new PostboteError('TLS_REQUIRED', why, {
      temporary: false,
      where,
      ...(reply ? { reply: toServerReply(reply) } : {}),
      command: 'STLS',
      hint: 'the account is set to tls: starttls, so Postbote will not send the password unencrypted; use tls: tls (port 995) if the provider offers it',
    });
  if (!offered) {
    conn.fail(refuse('server does not offer STLS'));
    throw refuse('server does not offer STLS');
  }
  const reply = await conn.command({ line: 'STLS', timeout: timeouts.command });
  if (reply.status !== '+OK') {
    const err = refuse('server refused STLS', reply);
    conn.fail(err);
    throw err;
  }
  const secure = await upgradeSocket(conn.detach(), options, where, timeouts.connect).catch(
    (err: PostboteError) => {
      conn.fail(err);
      throw err;
    },
  );
  conn.attach(secure);
}
