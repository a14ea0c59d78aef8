// What a server's CAPA (RFC 2449, 6856) and greeting say beyond what the session needs to log in:
// UTF8 mode, LOGIN-DELAY, EXPIRE, and the extensions Postbote does not use (named once in the log).
// Pure, so it is table-tested.

export type Capabilities = ReadonlyMap<string, readonly string[]>;

/** EXPIRE (RFC 2449 §6.7): days the server keeps a retrieved message, or 'never'. */
export type Expire = number | 'never';

export interface ServerPolicy {
  /** RFC 6856: the server offers UTF8; it may withhold or replace UTF-8 mail until the client says so. */
  utf8: boolean;
  /** RFC 2449 §6.5 LOGIN-DELAY: minimum seconds between logins; undefined when not announced. */
  loginDelay?: number;
  /** RFC 2449 §6.7 EXPIRE; undefined when not announced or only "per user" before login. */
  expire?: Expire;
}

// Capabilities the session itself acts on: everything else is only named in the debug log.
const USED = new Set([
  'CAPA',
  'TOP',
  'UIDL',
  'USER',
  'SASL',
  'STLS',
  'PIPELINING',
  'RESP-CODES',
  'AUTH-RESP-CODE',
  'UTF8',
  'LOGIN-DELAY',
  'EXPIRE',
  'IMPLEMENTATION',
]);

// RFC 2449 puts no bound on the numbers; a day is far beyond any real LOGIN-DELAY (providers use
// 300–900 s) and keeps a hostile value from parking a mailbox for years.
export const MAX_LOGIN_DELAY_SECONDS = 86_400;

/**
 * Reads the policy from CAPA. Before login, RFC 2449 lets LOGIN-DELAY and EXPIRE end in "USER"
 * (the value varies per user and is told after login): the number is then a lower bound we still honour.
 */
export function serverPolicy(caps: Capabilities): ServerPolicy {
  const policy: ServerPolicy = { utf8: caps.has('UTF8') };
  const delay = caps.get('LOGIN-DELAY')?.[0];
  if (delay !== undefined && /^\d{1,9}$/.test(delay)) {
    policy.loginDelay = Math.min(Number(delay), MAX_LOGIN_DELAY_SECONDS);
  }
  const expire = caps.get('EXPIRE')?.[0];
  if (expire !== undefined) {
    if (expire.toUpperCase() === 'NEVER') policy.expire = 'never';
    else if (/^\d{1,9}$/.test(expire)) policy.expire = Number(expire);
  }
  return policy;
}

/** What the server offers and Postbote leaves alone, as `NAME args` (APOP from the greeting too). */
export function unusedCapabilities(caps: Capabilities, apopGreeting: boolean): string[] {
  const out: string[] = [];
  if (apopGreeting) out.push('APOP (greeting timestamp)');
  for (const [name, args] of caps) {
    if (name === 'SASL') {
      const unused = args.filter((m) => m !== 'PLAIN' && m !== 'LOGIN');
      if (unused.length > 0) out.push(`SASL ${unused.join(' ')}`);
    } else if (!USED.has(name)) {
      out.push([name, ...args].join(' '));
    }
  }
  return out;
}
