// AUTH PLAIN/LOGIN on a receive connector: the users' password hashes, the per-IP lockout, the
// tarpit that answers every failure late, and the 421 after too many failures in one session.
import type { SMTPServerAuthentication, SMTPServerOptions } from 'smtp-server';
import type { ReceiveConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import { hashPassword, verifyPassword } from '../util/password.js';
import type { AuthLockout } from './auth-lockout.js';
import { normalizeAddress } from './ip-ranges.js';
import type { SessionGuard } from './session-guard.js';
import { reply } from './smtp-reply.js';

export type AuthHandler = NonNullable<SMTPServerOptions['onAuth']>;

/** smtp-server's onAuth for one listener (async: the hash that unknown users are checked against). */
export async function authHandler(
  config: ReceiveConfig,
  log: Logger,
  lockout: AuthLockout,
  sessions: SessionGuard,
): Promise<AuthHandler> {
  const users = new Map(config.users.map((u) => [u.user, u.passwordHash]));
  // Unknown users are checked against a real hash too, so the answer time does not reveal who exists.
  const dummyHash = users.size > 0 ? await hashPassword('postbote-unknown-user') : '';

  return (auth: SMTPServerAuthentication, session, callback) => {
    const ip = normalizeAddress(session.remoteAddress);
    if (lockout.isLocked(ip)) {
      // The password is not even checked, so a locked-out guesser learns nothing.
      log.warn({ cid: session.id, remote: ip, user: auth.username }, `AUTH refused: ${ip} is locked out`);
      return callback(reply(454, `4.7.0 Too many authentication failures from [${ip}], try again later`));
    }
    const hash = auth.username === undefined ? undefined : users.get(auth.username);
    verifyPassword(hash ?? dummyHash, auth.password ?? '')
      .then((ok) => {
        if (ok && hash !== undefined) {
          lockout.succeed(ip);
          return callback(null, { user: auth.username });
        }
        const inSession = sessions.authFailed(session.id);
        const { failures, locked } = lockout.fail(ip);
        log.warn({ cid: session.id, remote: ip, user: auth.username, failures }, 'authentication failed');
        if (locked) {
          log.warn(
            { cid: session.id, remote: ip, failures, lockoutMs: config.authFailures.lockout },
            `locked out ${ip} after ${failures} failed AUTH`,
          );
        }
        // The tarpit: every failure is answered late, so guessing costs the guesser time.
        setTimeout(() => {
          if (inSession >= config.authFailures.perSession) {
            log.warn(
              { cid: session.id, remote: ip },
              'too many failed AUTH in one session: closing with 421',
            );
            return callback(reply(421, '4.7.0 Too many failed authentication attempts, closing connection'));
          }
          callback(reply(535, '5.7.8 Authentication credentials invalid'));
        }, config.authFailures.delay).unref();
      })
      .catch((err) => callback(err));
  };
}
