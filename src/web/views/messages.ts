// The message log: search by sender, recipient, subject, Message-ID, state, mailbox and date, with pages;
// and one message with its routing decision, every attempt with the target's replies, and its headers.

import type { MessageRecord, StoredReply } from '../../store/types.js';
import type { SearchParams } from '../api.js';
import type { MessageDetail } from '../data.js';
import { badge, bytes, type Html, html, time } from './html.js';

const STATES = ['spooled', 'deferred', 'delivered', 'quarantined', 'deleted', 'duplicate'];

export function replyText(r: StoredReply | undefined): string {
  return r ? `${r.code}${r.enhanced ? ` ${r.enhanced}` : ''} ${r.text}` : '';
}

function field(name: keyof SearchParams, label: string, value: string | undefined, type = 'search'): Html {
  return html`<div class="field"><label for="f-${name}">${label}</label><input id="f-${name}" name="${name}" type="${type}" value="${value ?? ''}"></div>`;
}

export function messageRows(messages: MessageRecord[]): Html {
  if (messages.length === 0) return html`<tr><td colspan="6" class="muted">No messages match.</td></tr>`;
  return html`${messages.map(
    (m) => html`<tr>
  <td>${time(m.fetchedAt)}</td>
  <td>${m.mailbox}</td>
  <td class="wrap">${m.sender || html`<span class="muted">&lt;&gt;</span>`}</td>
  <td class="wrap"><a href="/messages/${m.id}">${m.subject ?? '(no subject)'}</a></td>
  <td class="wrap">${m.recipients.map((r) => r.address).join(', ')}</td>
  <td>${badge(m.state)}</td>
</tr>`,
  )}`;
}

export function messagesView(
  p: SearchParams,
  result: { total: number; messages: MessageRecord[] },
  mailboxes: string[],
): Html {
  const limit = p.limit ?? 50;
  const offset = p.offset ?? 0;
  const page = (o: number) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...p, offset: o }))
      if (v !== undefined && v !== '') q.set(k, String(v));
    return `/messages?${q}`;
  };
  return html`<h1>Message log</h1>
<form class="card search" method="get" action="/messages" role="search">
  ${field('q', 'Any of sender, recipient, subject, Message-ID', p.q)}
  ${field('sender', 'Sender', p.sender)}
  ${field('recipient', 'Recipient', p.recipient)}
  ${field('subject', 'Subject', p.subject)}
  ${field('messageId', 'Message-ID', p.messageId)}
  <div class="field"><label for="f-state">State</label><select id="f-state" name="state"><option value="">any</option>${STATES.map((s) => html`<option${s === p.state ? html` selected` : ''}>${s}</option>`)}</select></div>
  <div class="field"><label for="f-mailbox">Mailbox</label><select id="f-mailbox" name="mailbox"><option value="">any</option>${mailboxes.map((m) => html`<option${m === p.mailbox ? html` selected` : ''}>${m}</option>`)}</select></div>
  ${field('from', 'From date', p.from, 'date')}
  ${field('to', 'To date', p.to, 'date')}
  <div class="field buttons"><button type="submit" class="primary">Search</button> <a class="button" href="/messages">Clear</a></div>
</form>
<section class="card" id="live-messages" data-live>
  <p class="muted">${result.total} message${result.total === 1 ? '' : 's'}${result.total > limit ? `, ${offset + 1}–${Math.min(offset + limit, result.total)} shown` : ''}</p>
  <div class="table-wrap"><table>
    <thead><tr><th scope="col">Fetched</th><th scope="col">Mailbox</th><th scope="col">From</th><th scope="col">Subject</th><th scope="col">Recipients</th><th scope="col">State</th></tr></thead>
    <tbody>${messageRows(result.messages)}</tbody>
  </table></div>
  <nav class="pager" aria-label="Pages">
    ${offset > 0 ? html`<a class="button" href="${page(Math.max(0, offset - limit))}">← Newer</a>` : ''}
    ${offset + limit < result.total ? html`<a class="button" href="${page(offset + limit)}">Older →</a>` : ''}
  </nav>
</section>`;
}

export function messageActions(m: MessageRecord): Html {
  if (m.state !== 'quarantined' && m.state !== 'deferred') return html``;
  const fallback = m.recipients.find((r) => r.status !== 'delivered')?.address ?? '';
  return html`<div class="actions">
  ${
    // Without bytes (left on the provider) a release fetches it, while the provider still lists it.
    m.spoolKey || (m.sourceRemovedAt === null && m.detachedAt == null)
      ? html`<form class="inline" data-api="/api/messages/${m.id}/release" data-done="Released: it is being delivered">
    <label for="rel-${m.id}" class="sr-only">Release to</label>
    <input id="rel-${m.id}" name="recipient" type="email" required placeholder="recipient@your-domain" value="${fallback}">
    <button type="submit" class="primary">Release</button></form>`
      : ''
  }
  ${m.state === 'deferred' ? html`<button type="button" data-post="/api/messages/${m.id}/retry" data-done="Retrying now">Retry now</button>` : ''}
  <button type="button" class="danger" data-post="/api/messages/${m.id}" data-method="DELETE" data-confirm="Delete this message for good? Its bytes are removed; the record stays." data-done="Deleted">Delete</button>
</div>`;
}

export function messageView(d: MessageDetail): Html {
  const m = d.message;
  return html`<p class="crumbs"><a href="/messages">Message log</a> › message ${m.id}</p>
<div id="live-message" data-live>
<h1>${m.subject ?? '(no subject)'} ${badge(m.state)}</h1>
<section class="card">
  <dl class="facts">
    <div><dt>Mailbox</dt><dd><a href="/mailboxes/${encodeURIComponent(m.mailbox)}">${m.mailbox}</a></dd></div>
    <div><dt>Envelope sender</dt><dd>${m.sender || '<>'}</dd></div>
    <div><dt>Message-ID</dt><dd class="wrap">${m.messageId ?? '—'}</dd></div>
    <div><dt>Size</dt><dd>${bytes(m.size)}</dd></div>
    <div><dt>Fetched</dt><dd>${time(m.fetchedAt)}</dd></div>
    <div><dt>Attempts</dt><dd>${m.attempts}${m.nextAttemptAt ? html`, next ${time(m.nextAttemptAt)}` : ''}</dd></div>
    <div><dt>At the provider</dt><dd>${m.sourceRemovedAt ? html`removed ${time(m.sourceRemovedAt)}` : 'still there'}</dd></div>
  </dl>
  ${m.reason ? html`<p class="reason"><strong>Why ${m.state}:</strong> ${m.reason}</p>` : ''}
  ${messageActions(m)}
</section>
<section class="card">
  <h2>Routing</h2>
  <div class="table-wrap"><table>
    <thead><tr><th scope="col">Recipient</th><th scope="col">Status</th><th scope="col">Reason</th><th scope="col">Target's reply</th></tr></thead>
    <tbody>${m.recipients.map((r) => html`<tr><td>${r.address}</td><td>${badge(r.status)}</td><td class="wrap routing-reason">${r.reason}</td><td class="wrap"><code>${replyText(r.reply)}</code></td></tr>`)}</tbody>
  </table></div>
</section>
<section class="card">
  <h2>History</h2>
  <div class="table-wrap"><table>
    <thead><tr><th scope="col">Time</th><th scope="col">Outcome</th><th scope="col">Detail</th><th scope="col">Replies</th></tr></thead>
    <tbody>${
      d.attempts.length === 0
        ? html`<tr><td colspan="4" class="muted">No attempts yet.</td></tr>`
        : d.attempts.map(
            (
              a,
            ) => html`<tr><td>${time(a.at)}</td><td>${badge(a.outcome)}</td><td class="wrap">${a.detail}</td>
<td class="wrap">${a.recipients.map((r) => html`<div>${r.address}: <code>${replyText(r.reply)}</code></div>`)}</td></tr>`,
          )
    }</tbody>
  </table></div>
</section>
</div>
<section class="card">
  <h2>Headers</h2>
  ${
    d.headers
      ? html`<div class="table-wrap"><table class="headers"><tbody>${d.headers.map((h) => html`<tr><th scope="row">${h.name}</th><td class="wrap">${h.value}</td></tr>`)}</tbody></table></div>`
      : html`<p class="muted">The spool file is gone (the message was delivered or deleted), so the headers are no longer kept.</p>`
  }
</section>`;
}
