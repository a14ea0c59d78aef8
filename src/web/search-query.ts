// The message search as the API and the messages page receive it (query parameters, days as
// YYYY-MM-DD in UTC) turned into the store's query.
import type { MessageState } from '../store/types.js';
import type { SearchParams } from './schemas.js';

const DAY_MS = 86_400_000;

/** A YYYY-MM-DD day as its UTC midnight; a malformed day sets no bound rather than refusing the search. */
function day(text: string | undefined): number | undefined {
  if (!text || !/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined;
  const t = Date.parse(`${text}T00:00:00Z`);
  return Number.isNaN(t) ? undefined : t;
}

export function toQuery(p: SearchParams) {
  const to = day(p.to);
  return {
    text: p.q || undefined,
    mailbox: p.mailbox || undefined,
    states: p.state ? [p.state satisfies MessageState] : undefined,
    sender: p.sender || undefined,
    recipient: p.recipient || undefined,
    subject: p.subject || undefined,
    messageId: p.messageId || undefined,
    since: day(p.from),
    until: to === undefined ? undefined : to + DAY_MS,
    limit: p.limit ?? 50,
    offset: p.offset ?? 0,
  };
}
