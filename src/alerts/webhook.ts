// The optional webhook: one JSON POST per alert and recovery, for chat tools. Best effort (the mail is
// the durable path): a deadline, the answer's body never read beyond a bound, and the URL, which
// usually carries the secret (Slack's /services/T…/B…/token), never logged: only its host.
import { PostboteError } from '../errors.js';
import type { ActiveAlert } from './conditions.js';

// An answer body is not needed; a chat tool says "ok". Read at most this much, to free the socket.
const MAX_RESPONSE_BYTES = 16 * 1024;

export interface WebhookPayload {
  event: 'alert' | 'resolved';
  key: string;
  title: string;
  detail: string;
  since: string;
  at: string;
  host: string;
  /** One line for tools that show only `text` (Slack, Mattermost). */
  text: string;
}

export function webhookPayload(
  alert: ActiveAlert,
  cleared: boolean,
  hostname: string,
  now: number,
): WebhookPayload {
  return {
    event: cleared ? 'resolved' : 'alert',
    key: alert.key,
    title: alert.title,
    detail: alert.detail,
    since: new Date(alert.since).toISOString(),
    at: new Date(now).toISOString(),
    host: hostname,
    text: `[Postbote ${hostname}] ${cleared ? 'RESOLVED' : 'ALERT'}: ${alert.title} (${alert.detail})`,
  };
}

/** Where the webhook goes, as logs may show it: the scheme and host, no path, no query. */
export function webhookWhere(url: string): string {
  try {
    const u = new URL(url);
    return `webhook ${u.protocol}//${u.host}`;
  } catch {
    return 'webhook';
  }
}

export async function postWebhook(url: string, payload: WebhookPayload, timeoutMs: number): Promise<void> {
  const where = webhookWhere(url);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    // The cause may quote the URL: keep only its kind.
    throw new PostboteError(
      timedOut ? 'TIMEOUT' : 'CONNECT_FAILED',
      timedOut ? `no answer within ${timeoutMs} ms` : 'not reachable',
      { temporary: true, where },
    );
  }
  await drain(res);
  if (res.status < 200 || res.status >= 300) {
    throw new PostboteError('PROTOCOL', `answered HTTP ${res.status}`, {
      temporary: res.status >= 500,
      where,
      hint: 'check alerts.webhook.url',
    });
  }
}

async function drain(res: Response): Promise<void> {
  if (!res.body) return;
  const reader = res.body.getReader();
  let read = 0;
  try {
    while (read <= MAX_RESPONSE_BYTES) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // the answer's body does not matter
  }
}
