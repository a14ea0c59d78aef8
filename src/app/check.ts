// `postbote check` logic: connect, TLS and log in to each mailbox; connect, EHLO, TLS, AUTH and probe
// every configured recipient at the target (MAIL/RCPT then RSET, no data). A verdict and a fix per failure.
import type { Config, MailboxConfig } from '../config/index.js';
import { isPostboteError, toPostboteError } from '../errors.js';
import type { Logger } from '../log.js';
import { connectSmtp } from '../smtp/client.js';
import { classifyRefusal, replyKind } from '../smtp/refusal.js';
import { openSource, targetOptions } from './runtime.js';

export interface CheckResult {
  subject: string;
  ok: boolean;
  detail: string;
  hint?: string;
}

export async function checkMailbox(mailbox: MailboxConfig, logger: Logger): Promise<CheckResult> {
  const subject = `mailbox ${mailbox.name} (${mailbox.protocol} ${mailbox.host}:${mailbox.port}, tls ${mailbox.tls})`;
  try {
    const session = await openSource(mailbox, logger);
    try {
      const list = await session.list();
      const bytes = list.reduce((n, m) => n + m.size, 0);
      const tls = session.secure ? 'TLS verified' : 'no TLS';
      return {
        subject,
        ok: true,
        detail: `logged in (${tls}); ${list.length} messages, ${bytes} bytes waiting`,
      };
    } finally {
      await session.close().catch(() => session.abort());
    }
  } catch (err) {
    const e = isPostboteError(err) ? err : toPostboteError(err, subject);
    return { subject, ok: false, detail: e.describe(), hint: e.hint };
  }
}

/** Every address the connector may hand mail to, so the probe finds a refusal before real mail does. */
export function configuredRecipients(config: Config): string[] {
  const all = new Set<string>();
  for (const m of config.mailboxes) {
    for (const a of m.deliverTo ?? []) all.add(a);
    if (m.catchAll) all.add(m.catchAll.fallback);
    if (m.fallback) all.add(m.fallback);
  }
  return [...all];
}

export async function checkTarget(config: Config, logger: Logger): Promise<CheckResult[]> {
  const t = config.target;
  const subject = `target ${t.host}:${t.port} (${t.protocol}, tls ${t.tls}${t.localAddress ? `, from ${t.localAddress}` : ''})`;
  let conn: Awaited<ReturnType<typeof connectSmtp>>;
  try {
    conn = await connectSmtp(targetOptions(config, logger));
  } catch (err) {
    const e = isPostboteError(err) ? err : toPostboteError(err, subject);
    return [{ subject, ok: false, detail: e.describe(), hint: e.hint }];
  }
  const results: CheckResult[] = [
    {
      subject,
      ok: true,
      detail: `connected${conn.secure ? ' over verified TLS' : ''}, greeting and EHLO accepted`,
    },
  ];
  try {
    const recipients = configuredRecipients(config);
    if (recipients.length > 0) {
      const probe = await conn.probe({ from: '', to: recipients });
      const refused = classifyRefusal(probe.recipients) === 'client-refused';
      for (const r of probe.recipients) {
        const ok = replyKind(r.reply) === 'ok';
        results.push({
          subject: `recipient ${r.address}`,
          ok,
          detail: `${r.stage} ${r.reply.code}${r.reply.enhanced ? ` ${r.reply.enhanced}` : ''} ${r.reply.text}`,
          hint: ok
            ? undefined
            : refused
              ? `the receive connector refuses Postbote itself: add ${t.localAddress ?? 'this machine’s address'} to RemoteIPRanges and allow anonymous senders, or set target.auth`
              : `check that ${r.address} exists on the mail server and its domain is an accepted domain`,
        });
      }
    }
    await conn.quit();
  } catch (err) {
    conn.close();
    const e = isPostboteError(err) ? err : toPostboteError(err, subject);
    results.push({ subject, ok: false, detail: e.describe(), hint: e.hint });
  }
  return results;
}
