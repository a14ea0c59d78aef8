// `postbote check` logic: connect, TLS and log in to each mailbox; connect, EHLO, TLS, AUTH and probe
// every configured recipient at the target (MAIL/RCPT then RSET, no data). A verdict and a fix per failure.
import type { Config, MailboxConfig } from '../config/index.js';
import { isPostboteError, toPostboteError } from '../errors.js';
import type { Logger } from '../log.js';
import { connectSmtp } from '../smtp/client.js';
import {
  classifyRefusal,
  connectorRefusalHint,
  isClientRefusal,
  isNonAcceptedDomain,
  replyKind,
} from '../smtp/refusal.js';
import type { RecipientReply } from '../smtp/types.js';
import { humanSize } from '../util/size.js';
import { openSource, targetOptions } from './runtime.js';
import { newerSchema, schemaStatus } from './schema.js';

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
      const listing = await session.list();
      const list = listing.messages;
      const bytes = list.reduce((n, m) => n + m.size, 0);
      const detail = `logged in (${tlsState(session.secure, mailbox.tlsVerify)}); ${list.length} messages, ${humanSize(bytes)} waiting`;
      // IMAP: a configured folder the server does not have is a configuration mistake to fix now.
      const folders = listing.refused.filter((r) => r.line.startsWith('folder '));
      if (mailbox.protocol === 'imap' && folders.length > 0) {
        return {
          subject,
          ok: false,
          detail: `${detail}; ${folders.map((r) => `${r.line}: ${r.why}`).join('; ')}`,
          hint: 'fix folders: in the configuration (names as the server lists them, or a pattern like "*")',
        };
      }
      return { subject, ok: true, detail };
    } finally {
      await session.close().catch(() => session.abort());
    }
  } catch (err) {
    return failure(subject, err);
  }
}

/** Whether the session was encrypted and, if so, whether the certificate was checked (tlsVerify: false). */
function tlsState(secure: boolean, tlsVerify: boolean | undefined): string {
  if (!secure) return 'no TLS';
  return tlsVerify === false ? 'TLS, certificate not verified (tlsVerify: false)' : 'TLS verified';
}

/**
 * A failed step: the subject already says where, and the fix goes in `hint` (the CLI prints it on its
 * own line, the web after "Fix:"), so neither is repeated in the detail.
 */
function failure(subject: string, err: unknown): CheckResult {
  const e = isPostboteError(err) ? err : toPostboteError(err);
  return { subject, ok: false, detail: e.describe({ where: false, hint: false }), hint: e.hint };
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
    return [failure(subject, err)];
  }
  const results: CheckResult[] = [
    {
      subject,
      ok: true,
      detail: `connected${connectedOver(conn.secure, t.tlsVerify)}, greeting and EHLO${t.auth ? ' and AUTH' : ''} accepted`,
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
          hint: ok ? undefined : recipientHint(r, refused, t.localAddress),
        });
      }
    }
    await conn.quit();
  } catch (err) {
    conn.close();
    results.push(failure(subject, err));
  }
  return results;
}

function connectedOver(secure: boolean, tlsVerify: boolean | undefined): string {
  if (!secure) return '';
  return tlsVerify === false
    ? ' over TLS (certificate not verified, tlsVerify: false)'
    : ' over verified TLS';
}

/** What to change when the target refuses one probed recipient, judged from the server's reply. */
export function recipientHint(
  r: RecipientReply,
  allRefused: boolean,
  localAddress: string | undefined,
): string {
  const { code, enhanced = '', text } = r.reply;
  const domain = r.address.slice(r.address.lastIndexOf('@') + 1);
  if (allRefused) return connectorRefusalHint([r], localAddress);
  if (r.stage === 'MAIL')
    return 'the server refuses the envelope sender: check the connector’s sender restrictions';
  if (replyKind(r.reply) === 'temporary') {
    return `a temporary refusal (${code}${enhanced ? ` ${enhanced}` : ''}): mail for ${r.address} will be retried; run the check again later`;
  }
  if (isNonAcceptedDomain(r.reply)) return connectorRefusalHint([r], localAddress);
  if (enhanced !== '5.1.1' && isClientRefusal(r.reply)) {
    return `${domain} is not an accepted domain of the receive connector: add it (Exchange: New-AcceptedDomain) or change this recipient in the configuration`;
  }
  if (enhanced.startsWith('5.1.') || /unknown|no such|does not exist|not found/i.test(text)) {
    return `${r.address} does not exist on the mail server: create the mailbox or alias, or fix deliverTo/fallback in the configuration`;
  }
  if (enhanced === '5.2.2') return `the mailbox of ${r.address} is full`;
  return `check that ${r.address} exists on the mail server and ${domain} is an accepted domain`;
}

/**
 * The store: reachable (a PostgreSQL state: connection, login and TLS as the URL asks), and its schema
 * version against this program's. Read only; behind is a failure to fix with `postbote migrate`.
 */
export async function checkState(config: Config): Promise<CheckResult> {
  const postgres = config.stateKind === 'postgres';
  let subject = `state ${postgres ? 'PostgreSQL' : config.state}`;
  try {
    const s = await schemaStatus(config);
    subject = `state ${s.where}`;
    const over = postgres ? `connected (${s.tls ? 'TLS' : 'no TLS'}); ` : '';
    const version = `schema version ${s.current}, this Postbote's is ${s.latest}`;
    if (s.current > s.latest) {
      const e = newerSchema(s);
      return { subject, ok: false, detail: `${over}${version}`, hint: e.hint };
    }
    if (s.current === 0) {
      return {
        subject,
        ok: true,
        detail: `${over}no schema yet: postbote migrate creates it, or the first start`,
      };
    }
    if (s.current < s.latest) {
      return {
        subject,
        ok: false,
        detail: `${over}${version}`,
        hint: 'run postbote migrate (every instance then runs the new version; each also migrates when it starts)',
      };
    }
    return { subject, ok: true, detail: `${over}${version}` };
  } catch (err) {
    return failure(subject, err);
  }
}
