// Session setup before any mail: the greeting, EHLO/HELO/LHLO with its extensions, and STARTTLS.
import { PostboteError } from '../errors.js';
import { watchSilentGreeting } from '../util/tls-probe.js';
import type { Channel } from './channel.js';
import { isClientRefusal } from './refusal.js';
import { tlsFailed, tlsOptions } from './socket.js';
import type { SmtpClientOptions, SmtpReply } from './types.js';

export interface Timeouts {
  connect: number;
  greeting: number;
  command: number;
  dataEnd: number;
  /** Bytes per second the server must take the data at, on average (see DEFAULT_TIMEOUTS). */
  minDataRate: number;
}

/** The hint for every "the connector refuses Postbote's address" error. */
export function refusedAddressHint(localAddress: string): string {
  return (
    `the receive connector refuses this connection (source address ${localAddress}): ` +
    'add it to RemoteIPRanges on the receive connector, or set target.localAddress'
  );
}

/**
 * 220 or an error: 5xx (RFC 5321 3.1: 554) means the server refuses this client, 4xx "not now". On a
 * plain connection a long silence is checked for an SMTPS port (it waits for our ClientHello and would
 * never greet), which fails at once with the setting to change.
 */
export async function readGreeting(
  ch: Channel,
  timeouts: Timeouts,
  o: SmtpClientOptions,
): Promise<SmtpReply> {
  const stop =
    o.tls === 'tls'
      ? () => {}
      : watchSilentGreeting(o, () =>
          ch.fail(
            new PostboteError('TLS_REQUIRED', 'no greeting: the target waits for a TLS handshake', {
              temporary: true,
              where: ch.where,
              hint: `port ${o.port} speaks TLS: set tls: tls`,
            }),
          ),
        );
  let reply: SmtpReply;
  try {
    reply = await ch.read(timeouts.greeting, 'greeting');
  } finally {
    stop();
  }
  if (reply.code === 220) return reply;
  if (reply.code >= 500) {
    // Temporary on purpose: a refusal of the connector is not a verdict on any mail; retry later.
    throw new PostboteError(
      'SMTP_REFUSED_CLIENT',
      `the target refuses connections from source address ${ch.localAddress} (greeting ${reply.code})`,
      { temporary: true, reply, where: ch.where, hint: refusedAddressHint(ch.localAddress) },
    );
  }
  const err = new PostboteError(
    'SMTP_GREETING',
    `the target is not accepting connections now (greeting ${reply.code})`,
    {
      temporary: true,
      reply,
      where: ch.where,
      hint: 'the server is busy or restarting; Postbote retries later',
    },
  );
  // After 421 the server closes (RFC 5321 3.8): there is no QUIT to wait for.
  if (reply.code === 421) ch.fail(err);
  throw err;
}

/** EHLO (HELO when the server does not know EHLO) or LHLO; returns the advertised extensions. */
export async function hello(
  ch: Channel,
  o: SmtpClientOptions,
  timeouts: Timeouts,
): Promise<Map<string, string>> {
  const verb = o.lmtp ? 'LHLO' : 'EHLO';
  let command = `${verb} ${o.helo}`;
  let reply = await ch.command(command, timeouts.command);
  if (!o.lmtp && (reply.code === 500 || reply.code === 502)) {
    command = `HELO ${o.helo}`;
    reply = await ch.command(command, timeouts.command);
    if (reply.code === 250) return new Map();
  }
  if (reply.code !== 250) {
    if (isClientRefusal(reply)) {
      throw new PostboteError('SMTP_REFUSED_CLIENT', `the target refuses ${verb} from ${ch.localAddress}`, {
        temporary: true,
        reply,
        command,
        where: ch.where,
        hint: refusedAddressHint(ch.localAddress),
      });
    }
    throw new PostboteError('SMTP_COMMAND', `the target refused ${command}`, {
      temporary: true,
      reply,
      command,
      where: ch.where,
      hint:
        reply.code === 501 ? `check target.helo: the server does not accept the name ${o.helo}` : undefined,
    });
  }
  return parseExtensions(reply.text);
}

/** "mx.example Hello\nPIPELINING\nSIZE 1000" → PIPELINING→'', SIZE→'1000' (keywords upper-cased). */
export function parseExtensions(text: string): Map<string, string> {
  const extensions = new Map<string, string>();
  for (const line of text.split('\n').slice(1)) {
    const m = /^([A-Za-z0-9][A-Za-z0-9-]*)(?:[ =](.*))?$/.exec(line.trim());
    if (!m) continue;
    const keyword = m[1]!.toUpperCase();
    // Old servers send both "AUTH PLAIN" and "AUTH=PLAIN": the first one wins.
    if (!extensions.has(keyword)) extensions.set(keyword, (m[2] ?? '').trim());
  }
  return extensions;
}

/** STARTTLS (RFC 3207) or an error; never goes on in clear when TLS was asked for. */
export async function startTls(
  ch: Channel,
  o: SmtpClientOptions,
  extensions: ReadonlyMap<string, string>,
  timeouts: Timeouts,
): Promise<void> {
  if (!extensions.has('STARTTLS')) {
    throw new PostboteError('TLS_REQUIRED', 'the target does not offer STARTTLS', {
      temporary: true,
      where: ch.where,
      hint:
        'enable TLS on the receive connector (it needs a certificate), or set target.tls: none ' +
        'if the network path to the target is trusted',
    });
  }
  const reply = await ch.command('STARTTLS', timeouts.command);
  if (reply.code !== 220) {
    throw new PostboteError('TLS_FAILED', 'the target refused STARTTLS', {
      temporary: true,
      reply,
      command: 'STARTTLS',
      where: ch.where,
      hint: 'check the TLS certificate configured on the receive connector',
    });
  }
  await ch.startTls(tlsOptions(o), timeouts.connect, (err) => tlsFailed(err, o, ch.where));
}
