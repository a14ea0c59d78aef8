// Deterministic test messages (seeded PRNG): realistic headers and bodies with the cases that break
// mail code (dot lines, 8-bit text, very long lines, bare LF, no Message-ID), built with Buffer ops.
import { bodyBlock, fillBody, type Rng, rng } from './corpus-body.js';

export interface MessageOptions {
  /** Total size in bytes; exact unless smaller than the headers plus the special lines. */
  size: number;
  seed: number;
  /** Lines starting with '.', a line that is only '.', and a final line that is only '.'. */
  leadingDots?: boolean;
  /** 8-bit body: true or 'utf-8' for UTF-8, 'latin1' for ISO-8859-1 bytes. */
  eightBit?: boolean | 'utf-8' | 'latin1';
  /** Lines of 10,000 to 100,000 characters (cut to fit the size). */
  longLines?: boolean;
  /** LF line ends everywhere instead of CRLF. */
  bareLf?: boolean;
  noMessageId?: boolean;
  from?: string;
  to?: string;
  subject?: string;
}

// Long lines real mail carries (HTML on one line, base64 without breaks); all above 10,000.
const LONG_LINE_LENGTHS = [10_000, 12_345, 100_000];
// Base of the Date headers; each seed moves it by a different number of minutes.
const BASE_DATE_MS = Date.UTC(2024, 2, 1, 9, 30, 0);

export function makeMessage(opts: MessageOptions): Buffer {
  const r = rng(opts.seed);
  const eol = opts.bareLf ? '\n' : '\r\n';
  const charset = opts.eightBit === 'latin1' ? 'latin1' : opts.eightBit ? 'utf-8' : 'ascii';
  const header = Buffer.from(headerText(opts, r, charset).join(eol) + eol + eol, 'latin1');
  const head = opts.leadingDots
    ? specialLines(eol, ['.leading dot', '..two dots', '.', '. dot space', '....'])
    : [];
  const tail = opts.leadingDots ? [Buffer.from('.' + eol)] : [];
  const fixed = [header, ...head, ...(opts.longLines ? longLines(opts, r, eol, header.length) : [])];
  const used = [...fixed, ...tail].reduce((n, b) => n + b.length, 0);
  const fill = fillBody(bodyBlock(r, charset, eol), Math.max(eol.length, opts.size - used), eol);
  return Buffer.concat([...fixed, fill, ...tail]);
}

export interface CorpusEntry {
  name: string;
  data: Buffer;
}

/** The messages every end-to-end test should move intact: 1 KB to 20 MB, all the edge cases. */
export function standardCorpus(): CorpusEntry[] {
  const specs: Array<[string, Omit<MessageOptions, 'seed'>]> = [
    ['plain-1k', { size: 1024 }],
    ['leading-dots-4k', { size: 4096, leadingDots: true }],
    ['utf8-16k', { size: 16 * 1024, eightBit: 'utf-8' }],
    ['latin1-16k', { size: 16 * 1024, eightBit: 'latin1' }],
    ['long-lines-300k', { size: 300 * 1024, longLines: true }],
    ['bare-lf-8k', { size: 8 * 1024, bareLf: true }],
    ['bare-lf-dots-utf8-64k', { size: 64 * 1024, bareLf: true, leadingDots: true, eightBit: 'utf-8' }],
    ['no-message-id-2k', { size: 2048, noMessageId: true }],
    ['medium-256k', { size: 256 * 1024 }],
    ['dots-utf8-1m', { size: 1024 * 1024, leadingDots: true, eightBit: 'utf-8' }],
    ['latin1-5m', { size: 5 * 1024 * 1024, eightBit: 'latin1' }],
    ['everything-20m', { size: 20 * 1024 * 1024, leadingDots: true, eightBit: 'utf-8', longLines: true }],
  ];
  return specs.map(([name, o], i) => ({ name, data: makeMessage({ ...o, seed: 1000 + i }) }));
}

function headerText(opts: MessageOptions, r: Rng, charset: string): string[] {
  const n = 1 + Math.floor(r() * 250);
  const id = Math.floor(r() * 0xffffffff)
    .toString(16)
    .toUpperCase()
    .padStart(8, '0');
  const from = opts.from ?? `sender${opts.seed}@sender.example`;
  const to = opts.to ?? `user${opts.seed % 7}@provider.example`;
  const date = rfc5322Date(new Date(BASE_DATE_MS + (opts.seed % 100_000) * 61_000));
  const subject =
    opts.subject ??
    (charset === 'ascii'
      ? `Test message ${opts.seed} (${opts.size} bytes)`
      : `=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?= ${opts.seed} (${opts.size} bytes)`);
  const lines = [
    `Return-Path: <${from}>`,
    `Received: from mail-out${n}.sender.example (mail-out${n}.sender.example [192.0.2.${n}])`,
    `\tby mx${n % 5}.provider.example (Postfix) with ESMTPS id 4T${id}`,
    `\tfor <${to}>; ${date}`,
    `Received: from [198.51.100.${n}] (helo=laptop.sender.example)`,
    `\tby mail-out${n}.sender.example with esmtpsa (TLS1.3) id ${id.toLowerCase()}-000${n}; ${date}`,
    `From: "Sender ${opts.seed}" <${from}>`,
    `To: <${to}>`,
    `Subject: ${subject}`,
    `Date: ${date}`,
  ];
  if (!opts.noMessageId) lines.push(`Message-ID: <${opts.seed}.${opts.size}.${id}@sender.example>`);
  const cs = charset === 'latin1' ? 'iso-8859-1' : charset === 'utf-8' ? 'utf-8' : 'us-ascii';
  lines.push(
    'MIME-Version: 1.0',
    `Content-Type: text/plain; charset=${cs}; format=flowed`,
    `Content-Transfer-Encoding: ${charset === 'ascii' ? '7bit' : '8bit'}`,
  );
  return lines;
}

function specialLines(eol: string, lines: string[]): Buffer[] {
  return lines.map((l) => Buffer.from(l + eol));
}

function longLines(opts: MessageOptions, r: Rng, eol: string, headerLength: number): Buffer[] {
  let budget = opts.size - headerLength - 1024;
  const out: Buffer[] = [];
  for (const length of LONG_LINE_LENGTHS) {
    if (budget < length + eol.length) break;
    const line = Buffer.alloc(length + eol.length);
    // Letters with a space now and then, like an HTML part on one line.
    for (let i = 0; i < length; i++) line[i] = r() < 0.15 ? 0x20 : 0x61 + Math.floor(r() * 26);
    line[0] = 0x3c; // '<': never a leading dot or space by accident
    line.write(eol, length, 'latin1');
    out.push(line);
    budget -= line.length;
  }
  return out;
}

function rfc5322Date(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`
  );
}
