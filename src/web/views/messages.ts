// The message log: search by sender, recipient, subject, Message-ID, state, mailbox and date, with pages;
// and one message with its routing decision, every attempt with the target's replies, and its headers.
// Subjects and header values are shown decoded (RFC 2047); on a phone every table row is a card.
// A duplicate links the earlier copy it was suppressed for; a filtered message shows the verdict.

import { duplicateOf } from '../../routing/duplicates.js';
import type { MessageRecord, StoredReply } from '../../store/types.js';
import type { SearchParams } from '../api.js';
import type { MessageDetail } from '../data.js';
import type { Texts } from '../i18n.js';
import { filterBadge, filterSection } from './filter.js';
import { headerText, subjectText } from './header-text.js';
import { badge, bytes, cell, type Html, html, time } from './html.js';

const STATES = ['spooled', 'deferred', 'delivered', 'quarantined', 'deleted', 'duplicate'] as const;

export function replyText(r: StoredReply | undefined): string {
  return r ? `${r.code}${r.enhanced ? ` ${r.enhanced}` : ''} ${r.text}` : '';
}

/** The subject as the page and its title show it. */
export function shownSubject(m: Pick<MessageRecord, 'subject'>, t: Texts): string {
  return subjectText(m.subject) ?? t.messages.noSubject;
}

function field(name: keyof SearchParams, label: string, value: string | undefined, type = 'search'): Html {
  return html`<div class="field"><label for="f-${name}">${label}</label><input id="f-${name}" name="${name}" type="${type}" value="${value ?? ''}"></div>`;
}

/** "duplicate of #N", linking the earlier record; nothing when `id` is undefined. */
function duplicateLink(id: number | undefined, t: Texts): Html {
  if (id === undefined) return html``;
  return html`<a href="/messages/${id}" class="duplicate-of">${t.records.duplicateOf(id)}</a>`;
}

export function messageRows(messages: MessageRecord[], t: Texts): Html {
  const x = t.messages;
  if (messages.length === 0) return html`<tr><td colspan="6" class="muted">${x.none}</td></tr>`;
  return html`${messages.map(
    (m) => html`<tr>
  ${cell(x.colFetched, time(m.fetchedAt, t))}
  ${cell(x.mailbox, m.mailbox, 'wrap')}
  ${cell(x.colFrom, m.sender || html`<span class="muted">&lt;&gt;</span>`, 'wrap')}
  ${cell(x.subject, html`<a href="/messages/${m.id}">${shownSubject(m, t)}</a>`, 'wrap subject')}
  ${cell(x.colRecipients, m.recipients.map((r) => r.address).join(', '), 'wrap')}
  ${cell(x.state, html`${badge(m.state, t)} ${filterBadge(m.filter, t)} ${duplicateLink(duplicateOf(m.recipients), t)}`)}
</tr>`,
  )}`;
}

export function messagesView(
  p: SearchParams,
  result: { total: number; messages: MessageRecord[] },
  mailboxes: string[],
  t: Texts,
): Html {
  const x = t.messages;
  const limit = p.limit ?? 50;
  const offset = p.offset ?? 0;
  const page = (o: number) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...p, offset: o }))
      if (v !== undefined && v !== '') q.set(k, String(v));
    return `/messages?${q}`;
  };
  return html`<h1>${x.title}</h1>
<form class="card search" method="get" action="/messages" role="search">
  ${field('q', x.any, p.q)}
  ${field('sender', x.sender, p.sender)}
  ${field('recipient', x.recipient, p.recipient)}
  ${field('subject', x.subject, p.subject)}
  ${field('messageId', x.messageId, p.messageId)}
  <div class="field"><label for="f-state">${x.state}</label><select id="f-state" name="state"><option value="">${x.anyOption}</option>${STATES.map((s) => html`<option value="${s}"${s === p.state ? html` selected` : ''}>${t.states[s]}</option>`)}</select></div>
  <div class="field"><label for="f-mailbox">${x.mailbox}</label><select id="f-mailbox" name="mailbox"><option value="">${x.anyOption}</option>${mailboxes.map((m) => html`<option${m === p.mailbox ? html` selected` : ''}>${m}</option>`)}</select></div>
  ${field('from', x.fromDate, p.from, 'date')}
  ${field('to', x.toDate, p.to, 'date')}
  <div class="field buttons"><button type="submit" class="primary">${x.search}</button> <a class="button" href="/messages">${x.clear}</a></div>
</form>
<section class="card" id="live-messages" data-live>
  <p class="muted">${x.total(result.total)}${result.total > limit ? x.shown(offset + 1, Math.min(offset + limit, result.total)) : ''}</p>
  <div class="table-wrap"><table class="stack">
    <thead><tr><th scope="col">${x.colFetched}</th><th scope="col">${x.mailbox}</th><th scope="col">${x.colFrom}</th><th scope="col">${x.subject}</th><th scope="col">${x.colRecipients}</th><th scope="col">${x.state}</th></tr></thead>
    <tbody>${messageRows(result.messages, t)}</tbody>
  </table></div>
  <nav class="pager" aria-label="${x.pages}">
    ${offset > 0 ? html`<a class="button" href="${page(Math.max(0, offset - limit))}"><span aria-hidden="true">←</span> ${x.newer}</a>` : ''}
    ${offset + limit < result.total ? html`<a class="button" href="${page(offset + limit)}">${x.older} <span aria-hidden="true">→</span></a>` : ''}
  </nav>
</section>`;
}

/** Release, retry and delete; each button's accessible name says which message it acts on. */
export function messageActions(m: MessageRecord, t: Texts): Html {
  if (m.state !== 'quarantined' && m.state !== 'deferred') return html``;
  const x = t.message;
  const subject = shownSubject(m, t);
  const fallback = m.recipients.find((r) => r.status !== 'delivered')?.address ?? '';
  return html`<div class="actions">
  ${
    // Without bytes (left on the provider) a release fetches it, while the provider still lists it.
    m.spoolKey || (m.sourceRemovedAt === null && m.detachedAt == null)
      ? html`<form class="inline" data-api="/api/messages/${m.id}/release" data-done="${x.released}">
    <label for="rel-${m.id}" class="sr-only">${x.releaseTo}</label>
    <input id="rel-${m.id}" name="recipient" type="email" required placeholder="${x.releasePlaceholder}" value="${fallback}">
    <button type="submit" class="primary" aria-label="${t.mailbox.named(x.release, subject)}">${x.release}</button></form>`
      : ''
  }
  ${m.state === 'deferred' ? html`<button type="button" data-post="/api/messages/${m.id}/retry" data-done="${x.retrying}" aria-label="${t.mailbox.named(x.retry, subject)}">${x.retry}</button>` : ''}
  <button type="button" class="danger" data-post="/api/messages/${m.id}" data-method="DELETE" data-confirm="${x.deleteConfirm}" data-done="${x.deleted}" aria-label="${t.mailbox.named(x.delete, subject)}">${x.delete}</button>
</div>`;
}

function headerRow(h: { name: string; value: string }, t: Texts): Html {
  const shown = headerText(h.value);
  return html`<tr><th scope="row">${h.name}</th><td class="wrap">${shown}${
    shown === h.value
      ? ''
      : html`<details class="raw"><summary>${t.message.asSent}</summary><code>${h.value}</code></details>`
  }</td></tr>`;
}

export function messageView(d: MessageDetail, t: Texts): Html {
  const m = d.message;
  const x = t.message;
  return html`<p class="crumbs"><a href="/messages">${t.messages.title}</a> › ${x.crumb(m.id)}</p>
<div id="live-message" data-live>
<h1><span class="title-text">${shownSubject(m, t)}</span> ${badge(m.state, t)}</h1>
<section class="card">
  <dl class="facts">
    <div><dt>${t.messages.mailbox}</dt><dd><a href="/mailboxes/${encodeURIComponent(m.mailbox)}">${m.mailbox}</a></dd></div>
    <div><dt>${x.envelopeSender}</dt><dd>${m.sender || '<>'}</dd></div>
    <div><dt>${t.messages.messageId}</dt><dd class="wrap">${m.messageId ?? '—'}</dd></div>
    <div><dt>${x.size}</dt><dd>${bytes(m.size)}</dd></div>
    <div><dt>${x.fetched}</dt><dd>${time(m.fetchedAt, t)}</dd></div>
    <div><dt>${x.attempts}</dt><dd>${m.attempts}${m.nextAttemptAt ? html`, ${x.next} ${time(m.nextAttemptAt, t)}` : ''}</dd></div>
    <div><dt>${x.atProvider}</dt><dd>${m.sourceRemovedAt ? html`${x.removed} ${time(m.sourceRemovedAt, t)}` : x.stillThere}</dd></div>
  </dl>
  ${m.reason ? html`<p class="reason"><strong>${x.why(t.states[m.state])}</strong> ${m.reason}</p>` : ''}
  ${messageActions(m, t)}
</section>
${filterSection(m.filter, t)}
<section class="card">
  <h2>${x.routing}</h2>
  <div class="table-wrap"><table class="stack">
    <thead><tr><th scope="col">${x.recipient}</th><th scope="col">${x.status}</th><th scope="col">${x.reason}</th><th scope="col">${x.reply}</th></tr></thead>
    <tbody>${m.recipients.map((r) => html`<tr>${cell(x.recipient, r.address, 'wrap')}${cell(x.status, badge(r.status, t))}${cell(x.reason, html`${r.reason} ${duplicateLink(r.duplicateOf, t)}`, 'wrap routing-reason')}${cell(x.reply, html`<code>${replyText(r.reply)}</code>`, 'wrap')}</tr>`)}</tbody>
  </table></div>
</section>
<section class="card">
  <h2>${x.history}</h2>
  <div class="table-wrap"><table class="stack">
    <thead><tr><th scope="col">${x.time}</th><th scope="col">${x.outcome}</th><th scope="col">${x.detail}</th><th scope="col">${x.replies}</th></tr></thead>
    <tbody>${
      d.attempts.length === 0
        ? html`<tr><td colspan="4" class="muted">${x.noAttempts}</td></tr>`
        : d.attempts.map(
            (
              a,
            ) => html`<tr>${cell(x.time, time(a.at, t))}${cell(x.outcome, badge(a.outcome, t))}${cell(x.detail, a.detail, 'wrap')}
${cell(
  x.replies,
  a.recipients.map((r) => html`<div>${r.address}: <code>${replyText(r.reply)}</code></div>`),
  'wrap',
)}</tr>`,
          )
    }</tbody>
  </table></div>
</section>
</div>
<section class="card">
  <h2>${x.headers}</h2>
  ${
    d.headers
      ? html`<div class="table-wrap"><table class="headers"><tbody>${d.headers.map((h) => headerRow(h, t))}</tbody></table></div>`
      : html`<p class="muted">${x.spoolGone}</p>`
  }
</section>`;
}
