// One receive connector: an smtp-server per binding that admits only remoteIpRanges, offers AUTH only
// after STARTTLS, accepts only its domains' recipients, and answers 250 only once the message is
// durable in the Maildir or the next hop accepted it.
import { hostname } from 'node:os';
import type { SMTPServer, SMTPServerOptions } from 'smtp-server';
import type { ReceiveConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import { AuthLockout } from './auth-lockout.js';
import { authHandler } from './authenticate.js';
import { closeAll, listenOnBindings } from './bindings.js';
import { dataHandler } from './data-phase.js';
import { deliverer } from './deliver.js';
import { ipMatcher, normalizeAddress } from './ip-ranges.js';
import { sweepMaildirTmp } from './maildir.js';
import { RecipientPolicy } from './policy.js';
import { protocolLogger } from './protocol-log.js';
import { RateLimiter } from './rate-limit.js';
import { SessionGuard } from './session-guard.js';
import { reply } from './smtp-reply.js';
import { findConnection, markSourceRoutes, sourceRouted } from './source-route.js';

// How long close() lets sessions finish a message in hand before they get 421 (smtp-server's timer).
const CLOSE_TIMEOUT_MS = 30_000;
/** How often the Maildirs' tmp/ folders are swept of what crashes left (Maildir's 36-hour rule). */
const SWEEP_INTERVAL_MS = 6 * 3_600_000;
// smtp-server counts a socket from accept, our table from onConnect (100 ms later): twice maxConnections
// caps the sockets in between (smtp-server answers those 421 itself), so a flood of bare connects
// cannot pile up before the table sees them, while the table's own 421s stay the ones clients see.
const PRE_SESSION_HEADROOM = 2;

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
  const lockout = new AuthLockout(config.authFailures.lockoutAfter, config.authFailures.lockout);
  const sessions = new SessionGuard({
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    sessionTimeoutMs: config.timeouts.session,
    onExpired: (id) => log.warn({ cid: id }, 'session time limit exceeded: closing with 421'),
  });
  const onAuth = await authHandler(config, log, lockout, sessions);
  const deliver = deliverer(config, fqdn, log);

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

    onAuth,

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

    onData: dataHandler(config, fqdn, log, sessions, deliver),
  };

  const servers: SMTPServer[] = [];
  const addresses = await listenOnBindings(config.bindings, options, servers, log);
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
