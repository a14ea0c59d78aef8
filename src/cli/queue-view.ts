// What the read-only queue actions print: `queue` lists the waiting and quarantined mail, `queue show`
// one message with its attempts and headers, `queue export` its bytes as fetched.
import type { ControlIo } from '../control/server.js';
import type { FilterVerdict } from '../filters/types.js';
import { describeResult } from '../filters/verdict.js';
import type { MessageState } from '../store/types.js';
import { EXIT_FAILED } from './exit.js';
import type { OpEnv } from './op-env.js';
import { LISTED_STATES, MAX_LISTED, type QueueArgs } from './queue-args.js';

/** A header block shown by `queue show` is cut here: a message's headers are rarely 10 KB. */
const MAX_SHOWN_HEADER = 64 * 1024;

const time = (ms: number | null | undefined): string => {
  if (ms === null || ms === undefined) return '-';
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
};
const iso = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

export async function list(env: OpEnv, args: QueueArgs, io: ControlIo): Promise<number> {
  const states: MessageState[] = args.state ? [args.state] : [...LISTED_STATES];
  const { total, messages } = await env.runtime.store.searchMessages({ states, limit: MAX_LISTED });
  if (args.json) {
    const rows = messages.map((m) => ({
      id: m.id,
      state: m.state,
      mailbox: m.mailbox,
      sender: m.sender,
      subject: m.subject,
      recipients: m.recipients.map((r) => r.address),
      since: iso(m.fetchedAt),
      updatedAt: iso(m.updatedAt),
      attempts: m.attempts,
      nextAttemptAt: iso(m.nextAttemptAt),
      reason: m.reason,
    }));
    io.out(`${JSON.stringify({ total, messages: rows }, null, 2)}\n`);
    return 0;
  }
  if (total === 0) {
    io.out(`nothing ${args.state ?? 'deferred or quarantined'}\n`);
    return 0;
  }
  io.out(
    `${total} ${args.state ?? 'deferred or quarantined'} message${total === 1 ? '' : 's'}${total > messages.length ? ` (newest ${messages.length} shown)` : ''}\n`,
  );
  for (const m of messages) {
    const next = m.state === 'deferred' ? `, next attempt ${time(m.nextAttemptAt)}` : '';
    io.out(
      `\n#${m.id} ${m.state} (mailbox ${m.mailbox}) since ${time(m.fetchedAt)}, ${m.attempts} attempt${m.attempts === 1 ? '' : 's'}${next}\n` +
        `  from ${m.sender || '<>'} to ${m.recipients.map((r) => r.address).join(', ') || '-'}: ${m.subject ?? '(no subject)'}\n` +
        `  why: ${m.reason ?? '-'}\n`,
    );
  }
  return 0;
}

export async function show(env: OpEnv, id: number, json: boolean, io: ControlIo): Promise<number> {
  const rec = await env.runtime.store.get(id);
  if (!rec) {
    io.err(`postbote: message ${id} is not in the store\n`);
    return EXIT_FAILED;
  }
  const attempts = await env.runtime.store.attemptsOf(id);
  const header = rec.spoolKey
    ? (await env.runtime.spool.header(rec.spoolKey).catch(() => Buffer.alloc(0)))
        .subarray(0, MAX_SHOWN_HEADER)
        .toString('utf8')
    : '';
  if (json) {
    io.out(`${JSON.stringify({ message: rec, attempts, headers: header || null }, null, 2)}\n`);
    return 0;
  }
  const reply = (r?: { code: number | string; enhanced?: string; text: string }) =>
    r ? ` - ${r.code}${r.enhanced ? ` ${r.enhanced}` : ''} ${r.text}` : '';
  const lines = [
    `message ${rec.id}: ${rec.state} (mailbox ${rec.mailbox}, UID ${rec.uid})`,
    `  from:        ${rec.sender || '<>'}`,
    `  subject:     ${rec.subject ?? '(no subject)'}`,
    `  message-id:  ${rec.messageId ?? '-'}`,
    `  size:        ${rec.size} bytes`,
    `  fetched:     ${time(rec.fetchedAt)}; last change ${time(rec.updatedAt)}`,
    `  attempts:    ${rec.attempts}${rec.state === 'deferred' ? `, next ${time(rec.nextAttemptAt)}` : ''}`,
    `  why:         ${rec.reason ?? '-'}`,
    ...filterLines(rec.filter),
    'recipients:',
    ...rec.recipients.map((r) => `  ${r.address}: ${r.status} (${r.reason})${reply(r.reply)}`),
    'routing:',
    ...(rec.explanation?.length ? rec.explanation.map((l) => `  ${l}`) : ['  -']),
    'attempts:',
    ...(attempts.length
      ? attempts.flatMap((a) => [
          `  ${time(a.at)} ${a.outcome}: ${a.detail}`,
          ...a.recipients.map((r) => `    ${r.address}${reply(r.reply)}`),
        ])
      : ['  none yet']),
    'headers:',
    header ? header.replace(/\r?\n$/, '').replace(/^/gm, '  ') : '  (the bytes are no longer kept)',
  ];
  io.out(`${lines.join('\n')}\n`);
  return 0;
}

const DONE: Record<FilterVerdict['action'], string> = {
  deliver: 'delivered',
  redirect: 'redirected',
  quarantine: 'quarantined',
};

/** The spam/virus filter's verdict, then each scanner's own words (score/required, rules, virus, why not). */
function filterLines(v: FilterVerdict | null | undefined): string[] {
  if (!v) return ['  filter:      not filtered'];
  const verdict = v.verdict === 'unscanned' ? 'not scanned' : v.verdict;
  return [
    `  filter:      ${verdict}, ${DONE[v.action]}${v.notify ? ' (postmaster told)' : ''}`,
    ...v.results.map((r) => `    ${describeResult(r)}`),
  ];
}

export async function exportMessage(env: OpEnv, id: number, io: ControlIo): Promise<number> {
  const rec = await env.runtime.store.get(id);
  if (!rec?.spoolKey) {
    io.err(
      rec
        ? `postbote: message ${id} is ${rec.state}; its bytes are no longer kept (only waiting and quarantined mail has them)\n`
        : `postbote: message ${id} is not in the store\n`,
    );
    return EXIT_FAILED;
  }
  // Never a damaged or missing copy: the local file if intact, else the shared one (postgres:// state).
  const bytes = await env.runtime.spool.ensure(rec.spoolKey, rec.size, rec.sha256);
  if (!bytes.ok) {
    io.err(`postbote: message ${id}: its bytes are missing (${bytes.why})\n`);
    return EXIT_FAILED;
  }
  for await (const chunk of env.runtime.spool.open(rec.spoolKey)) {
    io.out(chunk as Buffer);
    await io.drain();
  }
  return 0;
}
