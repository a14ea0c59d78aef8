// One receive connector: an smtp-server per binding that admits only remoteIpRanges, offers AUTH only
// after STARTTLS, accepts only its domains' recipients, and answers 250 only once the message is
// durable in the Maildir or the next hop accepted it.
import { hostname } from 'node:os';
import type { Readable } from 'node:stream';
import { SMTPServer, type SMTPServerAuthentication, type SMTPServerOptions } from 'smtp-server';
import type { ReceiveConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import { hashPassword, verifyPassword } from '../util/password.js';
import { AuthLockout } from './auth-lockout.js';
import { guardBody } from './body-guard.js';
import { watchDataRate } from './data-rate.js';
import { ipMatcher, normalizeAddress } from './ip-ranges.js';
import { deliverToMaildir, sweepMaildirTmp } from './maildir.js';
import { RecipientPolicy } from './policy.js';
import { protocolLogger } from './protocol-log.js';
import { RateLimiter } from './rate-limit.js';
import { type Answer, relayMessage, splitHostPort } from './relay.js';
import { SessionGuard } from './session-guard.js';
import { findConnection, markSourceRoutes, sourceRouted } from './source-route.js';
import { traceHeader } from './trace.js';

// How long close() lets sessions finish a message in hand before they get 421 (smtp-server's timer).
const CLOSE_TIMEOUT_MS = 30_000;
/** How often the Maildirs' tmp/ folders are swept of what crashes left (Maildir's 36-hour rule). */
const SWEEP_INTERVAL_MS = 6 * 3_600_000;
// smtp-server counts a socket from accept, our table from onConnect (100 ms later): twice maxConnections
// caps the sockets in between (smtp-server answers those 421 itself), so a flood of bare connects
// cannot pile up before the table sees them, while the table's own 421s stay the ones clients see.
const PRE_SESSION_HEADROOM = 2;

/** An error smtp-server turns into a reply: `code` plus text that starts with the enhanced code. */
function reply(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

export interface Listener {
  name: string;
  /** The addresses actually bound, as host:port (port 0 in a binding becomes the real port). */
  addresses: string[];
  close(): Promise<void>;
}

export async function startListener(config: ReceiveConfig, logger: Logger): Promise<Listener> {
  const log = logger.child({ component: 'receive', listener: config.name });
  const allowed = ipMatcher(config.remoteIpRanges);
  const policy = new RecipientPolicy(config.acceptedDomains, {
    allowSenderRouting: config.allowSenderRouting,
  });
  const connections = new RateLimiter(config.rateLimits.connectionsPerMinute);
  const messages = new RateLimiter(config.rateLimits.messagesPerMinute);
  const fqdn = config.fqdn ?? hostname();
  const users = new Map(config.users.map((u) => [u.user, u.passwordHash]));
  // Unknown users are checked against a real hash too, so the answer time does not reveal who exists.
  const dummyHash = users.size > 0 ? await hashPassword('postbote-unknown-user') : '';
  const lockout = new AuthLockout(config.authFailures.lockoutAfter, config.authFailures.lockout);
  const sessions = new SessionGuard({
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    sessionTimeoutMs: config.timeouts.session,
    onExpired: (id) => log.warn({ cid: id }, 'session time limit exceeded: closing with 421'),
  });

  const deliver = async (envelope: { from: string; to: string[] }, body: Readable, cid: string) => {
    const d = config.deliver;
    if (d.maildir !== undefined) {
      const name = await deliverToMaildir(d.maildir, envelope.to, body);
      return { code: 250, message: `2.0.0 stored as ${name}` } satisfies Answer;
    }
    const hop = splitHostPort((d.lmtp ?? d.smtp)!);
    return relayMessage(
      {
        ...hop,
        lmtp: d.lmtp !== undefined,
        helo: fqdn,
        logger: log.child({ cid }),
        ...(d.tls !== undefined ? { tls: d.tls } : {}),
        ...(d.tlsVerify !== undefined ? { tlsVerify: d.tlsVerify } : {}),
        ...(d.caPem !== undefined ? { ca: d.caPem } : {}),
      },
      envelope,
      body,
    );
  };

  const baseDisabled = [...(config.auth === 'none' ? ['AUTH'] : []), ...(config.tls ? [] : ['STARTTLS'])];
  // smtp-server advertises AUTH in clear and only refuses it (538); hiding it until TLS keeps clients
  // from even trying to send a password in clear.
  const hideAuthInClear = config.auth !== 'none' && config.tls !== undefined && !config.allowInsecureAuth;

  const options: SMTPServerOptions = {
    name: fqdn,
    banner: config.banner ?? 'Postbote receive connector',
    size: config.maxMessageSize,
    maxRecipients: config.maxRecipients,
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: config.auth !== 'required',
    allowInsecureAuth: config.allowInsecureAuth,
    disabledCommands: baseDisabled,
    // Without a configured certificate smtp-server would offer STARTTLS with its built-in test key.
    hideSTARTTLS: !config.tls,
    ...(config.tls ? { key: config.tls.keyPem, cert: config.tls.certPem } : {}),
    disableReverseLookup: true,
    closeTimeout: CLOSE_TIMEOUT_MS,
    socketTimeout: config.timeouts.idle,
    maxClients: config.maxConnections * PRE_SESSION_HEADROOM,
    // smtp-server writes the protocol log (commands, replies, AUTH masked) tagged with the session id `cid`.
    logger: protocolLogger(log.child({ protocol: 'smtp' })) as unknown as SMTPServerOptions['logger'],

    onConnect(session, callback) {
      const ip = normalizeAddress(session.remoteAddress);
      if (!allowed(ip)) {
        log.warn({ cid: session.id, remote: ip }, `refused ${ip}: not in remoteIpRanges`);
        return callback(reply(554, `5.7.1 Client host [${ip}] is not allowed on this connector`));
      }
      if (!connections.take(ip)) {
        log.warn({ cid: session.id, remote: ip }, `refused ${ip}: connection rate limit`);
        return callback(reply(421, `4.7.0 Too many connections from [${ip}], try again later`));
      }
      if (config.auth === 'required' && lockout.isLocked(ip)) {
        log.warn({ cid: session.id, remote: ip }, `refused ${ip}: locked out after failed AUTH`);
        return callback(reply(421, `4.7.0 Too many authentication failures from [${ip}], try again later`));
      }
      const connection = findConnection(servers, session.id);
      const admission = sessions.admit(session.id, ip, connection);
      if (admission !== 'ok') {
        const limit = admission === 'total' ? 'maxConnections' : 'maxConnectionsPerIp';
        log.warn({ cid: session.id, remote: ip }, `refused ${ip}: ${limit} reached`);
        return callback(
          reply(
            421,
            admission === 'total'
              ? '4.7.0 Too many connections to this connector, try again later'
              : `4.7.0 Too many connections from [${ip}], try again later`,
          ),
        );
      }
      if (hideAuthInClear && !session.secure) setDisabled(session, [...baseDisabled, 'AUTH']);
      if (connection) markSourceRoutes(connection);
      callback();
    },

    onClose(session) {
      sessions.release(session.id);
    },

    onSecure(_socket, session, callback) {
      setDisabled(session, baseDisabled);
      callback();
    },

    onAuth(auth: SMTPServerAuthentication, session, callback) {
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
              return callback(
                reply(421, '4.7.0 Too many failed authentication attempts, closing connection'),
              );
            }
            callback(reply(535, '5.7.8 Authentication credentials invalid'));
          }, config.authFailures.delay).unref();
        })
        .catch((err) => callback(err));
    },

    onMailFrom(_address, session, callback) {
      // Checked here too: while AUTH is hidden before STARTTLS, smtp-server would not ask for it.
      if (config.auth === 'required' && !session.user) {
        return callback(reply(530, '5.7.0 Authentication required'));
      }
      if (config.tls?.required && !session.secure) {
        return callback(reply(530, '5.7.0 Must issue a STARTTLS command first'));
      }
      if (!messages.take(normalizeAddress(session.remoteAddress))) {
        return callback(reply(451, '4.7.0 Message rate limit exceeded, try again later'));
      }
      callback();
    },

    onRcptTo(address, _session, callback) {
      const verdict = policy.check(address.address, sourceRouted.has(address));
      if (!verdict.ok) return callback(reply(verdict.code, verdict.message));
      // Folder names and next-hop envelopes use the checked, lower-case address.
      address.address = verdict.address;
      callback();
    },

    onData(stream, session, callback) {
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
    },
  };

  const servers: SMTPServer[] = [];
  const addresses: string[] = [];
  try {
    for (const binding of config.bindings) {
      const { host, port } = splitHostPort(binding);
      const server = new SMTPServer(options);
      server.on('error', (err) => log.error({ err }, `listener ${binding}: ${err.message}`));
      await new Promise<void>((resolve, reject) => {
        server.server.once('error', reject);
        server.listen(port, host, () => {
          server.server.off('error', reject);
          resolve();
        });
      });
      const bound = server.server.address();
      const actual = typeof bound === 'object' && bound ? bound.port : port;
      addresses.push(host.includes(':') ? `[${host}]:${actual}` : `${host}:${actual}`);
      servers.push(server);
    }
  } catch (err) {
    await closeAll(servers);
    throw err;
  }
  log.info({ addresses }, `receive connector ${config.name} listening on ${addresses.join(', ')}`);

  // Files a crash left in the Maildirs' tmp/ are swept at start and every few hours after.
  const maildir = config.deliver.maildir;
  let sweeper: NodeJS.Timeout | undefined;
  if (maildir !== undefined) {
    const sweep = async () => {
      const removed = await sweepMaildirTmp(maildir);
      if (removed > 0) log.info({ removed }, `removed ${removed} stale file(s) from the Maildirs' tmp/`);
    };
    await sweep();
    sweeper = setInterval(() => void sweep(), SWEEP_INTERVAL_MS).unref();
  }

  return {
    name: config.name,
    addresses,
    close: () => {
      if (sweeper) clearInterval(sweeper);
      return closeAll(servers);
    },
  };
}

/** Per-session command switches (smtp-server reads session.disabledCommands before its own option). */
function setDisabled(session: object, commands: string[]): void {
  (session as { disabledCommands?: string[] }).disabledCommands = commands;
}

/** Stops accepting and waits for the sessions in hand (smtp-server's closeTimeout bounds the wait). */
async function closeAll(servers: SMTPServer[]): Promise<void> {
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
}
