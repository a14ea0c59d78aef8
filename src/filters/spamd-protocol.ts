// The SPAMC/SPAMD protocol (SpamAssassin's spamd): the request head, and a parser for the reply to
// SYMBOLS. Pure functions; the parser says 'more' on partial input instead of guessing.

export interface SpamdReply {
  spam: boolean;
  score: number;
  required: number;
  symbols: string[];
}

export type SpamdParse =
  | { kind: 'more' }
  | { kind: 'done'; reply: SpamdReply }
  | { kind: 'error'; message: string };

/** SYMBOLS asks for the verdict and the names of the rules that hit, not a rewritten message. */
export function spamdRequest(size: number, user?: string): Buffer {
  const lines = ['SYMBOLS SPAMC/1.5', `Content-length: ${size}`];
  if (user) lines.push(`User: ${user.replace(/[\r\n]/g, '')}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

/** `SPAMD/1.1 0 EX_OK` then headers (Spam: True ; 15.0 / 5.0, Content-length) and the symbol list. */
export function parseSpamdReply(data: Buffer): SpamdParse {
  const text = data.toString('latin1');
  const headEnd = text.indexOf('\r\n\r\n');
  const firstEnd = text.indexOf('\r\n');
  if (firstEnd === -1) return { kind: 'more' };
  const status = /^SPAMD\/\d+\.\d+ (\d+) (.*)$/.exec(text.slice(0, firstEnd));
  if (!status)
    return { kind: 'error', message: `not a spamd reply: ${text.slice(0, firstEnd).slice(0, 80)}` };
  if (status[1] !== '0') return { kind: 'error', message: `spamd said ${status[1]} ${status[2]}` };
  if (headEnd === -1) return { kind: 'more' };
  const headers = new Map<string, string>();
  for (const line of text.slice(firstEnd + 2, headEnd).split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const spam = /^(True|False|Yes|No) ; (-?[\d.]+) \/ (-?[\d.]+)$/i.exec(headers.get('spam') ?? '');
  if (!spam) return { kind: 'error', message: `spamd reply without a valid Spam header` };
  const length = Number(headers.get('content-length') ?? '0');
  if (!Number.isInteger(length) || length < 0) return { kind: 'error', message: 'bad Content-length' };
  const body = data.subarray(Buffer.byteLength(text.slice(0, headEnd + 4), 'latin1'));
  if (body.length < length) return { kind: 'more' };
  const symbols = body
    .subarray(0, length)
    .toString('latin1')
    .split(/[,\s]+/)
    .filter((s) => s.length > 0);
  const flag = (spam[1] ?? '').toLowerCase();
  return {
    kind: 'done',
    reply: {
      spam: flag === 'true' || flag === 'yes',
      score: Number(spam[2]),
      required: Number(spam[3]),
      symbols,
    },
  };
}
