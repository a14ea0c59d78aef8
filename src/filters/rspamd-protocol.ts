// rspamd's /checkv2 HTTP protocol: the envelope as request headers, and the JSON reply read into a
// result. Pure functions.

export interface RspamdEnvelope {
  from: string;
  rcpt: string[];
  ip?: string;
  helo?: string;
  queueId?: string;
  user?: string;
}

export interface RspamdReply {
  action: string;
  score: number;
  required: number;
  symbols: string[];
  spam: boolean;
}

/** rspamd reads the SMTP envelope from these headers (one Rcpt header per recipient). */
export function rspamdHeaders(env: RspamdEnvelope, size: number): Array<[string, string | string[]]> {
  const clean = (v: string) => v.replace(/[\r\n]/g, '');
  const h: Array<[string, string | string[]]> = [
    ['Content-Length', String(size)],
    ['From', clean(env.from)],
  ];
  if (env.rcpt.length > 0) h.push(['Rcpt', env.rcpt.map(clean)]);
  if (env.ip) h.push(['IP', clean(env.ip)]);
  if (env.helo) h.push(['Helo', clean(env.helo)]);
  if (env.queueId) h.push(['Queue-Id', clean(env.queueId)]);
  if (env.user) h.push(['User', clean(env.user)]);
  return h;
}

// The actions rspamd takes for mail it judges spam; 'greylist' and 'soft reject' ask for a retry,
// which a fetched message cannot give, so they count as not spam (the score still shows).
const SPAM_ACTIONS = new Set(['add header', 'rewrite subject', 'reject']);

export function parseRspamdReply(body: string): RspamdReply | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { error: `rspamd reply is not JSON: ${body.slice(0, 80)}` };
  }
  if (typeof json !== 'object' || json === null) return { error: 'rspamd reply is not an object' };
  const o = json as Record<string, unknown>;
  if (typeof o.error === 'string') return { error: `rspamd: ${o.error}` };
  if (typeof o.action !== 'string' || typeof o.score !== 'number') {
    return { error: 'rspamd reply without action and score' };
  }
  const symbols =
    typeof o.symbols === 'object' && o.symbols !== null ? Object.keys(o.symbols as object).sort() : [];
  return {
    action: o.action,
    score: o.score,
    required: typeof o.required_score === 'number' ? o.required_score : Number.NaN,
    symbols,
    spam: SPAM_ACTIONS.has(o.action),
  };
}
