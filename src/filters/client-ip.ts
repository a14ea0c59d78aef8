// The SMTP client that handed the message to the provider, for rspamd's IP and Helo (SPF, RBLs,
// reputation). Taken only from the provider's own Received headers (routing's trusted block): lower
// ones may be forged by the sender. Top-down, internal hops (private, loopback) are skipped: the first
// public address is the one the provider's edge recorded; a forged header further down cannot win.
import { isIP } from 'node:net';
import type { Header } from '../message/headers.js';
import { trustedBlock } from '../routing/envelope.js';

export interface SmtpClient {
  ip?: string;
  helo?: string;
}

/** The from clause up to `by`: `from HELO (rdns [IP])`, `from [IP] (helo=HELO)`, `from HELO ([IP])`. */
export function receivedFrom(value: string): SmtpClient {
  const from = /^\s*from\s+(.*?)(?:\s+by\s|;|$)/is.exec(value)?.[1];
  if (!from) return {};
  const literal = /\[(?:IPv6:)?([0-9a-f.:]+)\]/i.exec(from)?.[1];
  const ip = literal && isIP(literal) ? literal.toLowerCase() : undefined;
  const heloParam = /\(helo=([^\s)]+)\)/i.exec(from)?.[1];
  const first = /^([^\s()[\]]+)/.exec(from)?.[1];
  const helo = heloParam ?? first;
  return { ...(ip ? { ip } : {}), ...(helo ? { helo } : {}) };
}

export function isPublicIp(ip: string): boolean {
  if (isIP(ip) === 4) {
    const [a = 0, b = 0] = ip.split('.').map(Number);
    return !(
      a === 10 ||
      a === 127 ||
      a === 0 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  const v6 = ip.toLowerCase();
  return !(v6 === '::1' || v6.startsWith('fe80:') || v6.startsWith('fc') || v6.startsWith('fd'));
}

export function smtpClient(headers: Header[]): SmtpClient {
  const { end } = trustedBlock(headers);
  for (let i = 0; i < end; i++) {
    const h = headers[i] as Header;
    if (h.name !== 'received') continue;
    const client = receivedFrom(h.value);
    if (client.ip && isPublicIp(client.ip)) return client;
  }
  return {};
}
