// One mailbox: its state and last error with the fix, actions (fetch now, pause, resume) and recent
// sessions (a card per session on a phone).

import type { StoredSession } from '../../store/types.js';
import type { MailboxView } from '../data.js';
import type { Texts } from '../i18n.js';
import { errorBlock, fetchButton } from './dashboard.js';
import { badge, bytes, cell, duration, type Html, html, time } from './html.js';

function sessionRow(s: StoredSession, t: Texts): Html {
  const x = t.mailbox;
  return html`<tr class="${s.error ? 'row-bad' : ''}">${cell(x.started, time(s.startedAt, t))}${cell(x.duration, duration(s.endedAt - s.startedAt), 'num')}
${cell(x.listed, s.listed, 'num')}${cell(x.fetched, s.fetched, 'num')}${cell(x.delivered, s.delivered, 'num')}${cell(x.deferred, s.deferred, 'num')}${cell(x.quarantined, s.quarantined, 'num')}${cell(x.bytes, bytes(s.bytes), 'num')}
${cell(x.error, s.error ? html`<span class="bad-text">${s.error}</span>` : html`<span class="muted">—</span>`, 'wrap')}</tr>`;
}

export function mailboxView(m: MailboxView, sessions: StoredSession[], t: Texts): Html {
  const x = t.mailbox;
  const path = `/api/mailboxes/${encodeURIComponent(m.name)}`;
  const toggle =
    m.state === 'paused'
      ? html`<button type="button" data-post="${path}/resume" data-done="${x.resumed}" aria-label="${x.named(x.resume, m.name)}">${x.resume}</button>`
      : html`<button type="button" data-post="${path}/pause" data-done="${x.paused}" aria-label="${x.named(x.pause, m.name)}">${x.pause}</button>`;
  return html`<p class="crumbs"><a href="/">${t.nav.dashboard}</a> › ${x.crumb}</p>
<div id="live-mailbox" data-live>
<h1><span class="title-text">${m.name}</span> ${badge(m.state, t)}</h1>
${m.needsAction ? html`<p class="bad-text"><strong>${t.dashboard.needsAction}</strong>: ${t.dashboard.needsActionNote}</p>` : ''}
<section class="card">
  <dl class="facts">
    <div><dt>${x.server}</dt><dd>${m.protocol.toUpperCase()} ${m.host}:${m.port}</dd></div>
    <div><dt>${x.user}</dt><dd>${m.user}</dd></div>
    <div><dt>${x.interval}</dt><dd>${duration(m.intervalMs)}</dd></div>
    <div><dt>${x.nextPoll}</dt><dd>${m.state === 'paused' ? t.states.paused : time(m.nextRunAt, t)}</dd></div>
    <div><dt>${x.today}</dt><dd>${m.today}</dd></div>
    <div><dt>${x.failures}</dt><dd>${m.failures}</dd></div>
  </dl>
  <div class="actions">
    ${fetchButton(m, t, 'primary')}
    ${toggle}
    <a class="button" href="/messages?mailbox=${encodeURIComponent(m.name)}">${x.messages}</a>
  </div>
  ${m.last?.error ? errorBlock(m.last.error, t) : ''}
</section>
<section class="card">
  <h2>${x.sessions}</h2>
  <div class="table-wrap"><table class="stack">
    <thead><tr><th scope="col">${x.started}</th><th scope="col" class="num">${x.duration}</th><th scope="col" class="num">${x.listed}</th><th scope="col" class="num">${x.fetched}</th><th scope="col" class="num">${x.delivered}</th><th scope="col" class="num">${x.deferred}</th><th scope="col" class="num">${x.quarantined}</th><th scope="col" class="num">${x.bytes}</th><th scope="col">${x.error}</th></tr></thead>
    <tbody>${
      sessions.length === 0
        ? html`<tr><td colspan="9" class="muted">${x.noSessions}</td></tr>`
        : sessions.map((s) => sessionRow(s, t))
    }</tbody>
  </table></div>
</section>
</div>`;
}
