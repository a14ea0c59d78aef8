// The dashboard: is mail flowing? Every mailbox with its state and last result, the target's health,
// the queues, and activity over 24 hours and 7 days. On a phone each mailbox row stacks into a card.
import type { Dashboard, ErrorView, MailboxView } from '../data.js';
import type { Texts } from '../i18n.js';
import { barChart, dayLabel, hourLabel } from './chart.js';
import { badge, cell, type Html, html, time } from './html.js';

export function errorBlock(e: ErrorView | null, t: Texts): Html {
  if (!e) return html``;
  return html`<div class="error-block">
  <p><strong>${e.where ? `${e.where}: ` : ''}${e.message}</strong></p>
  ${e.reply ? html`<p class="reply">${t.error.serverSaid} <code>${e.reply.code}${e.reply.enhanced ? ` ${e.reply.enhanced}` : ''} ${e.reply.text}</code></p>` : ''}
  ${e.hint ? html`<p class="hint"><strong>${t.error.fix}</strong> ${e.hint}</p>` : ''}
</div>`;
}

function lastResult(m: MailboxView, t: Texts): Html {
  if (!m.last) return html`<span class="muted">${t.dashboard.notPolled}</span>`;
  const l = m.last;
  return html`${time(l.at, t)}<br><span class="${l.ok ? 'ok-text' : 'bad-text'}">${l.ok ? t.dashboard.counts(l) : (l.error?.code ?? t.dashboard.failed)}</span>`;
}

/** "Fetch now" as a button whose accessible name says which mailbox it fetches. */
export function fetchButton(m: { name: string }, t: Texts, className: string): Html {
  return html`<button type="button" class="${className}" data-post="/api/mailboxes/${encodeURIComponent(m.name)}/fetch" data-done="${t.mailbox.fetching(m.name)}" aria-label="${t.mailbox.named(t.mailbox.fetchNow, m.name)}">${t.mailbox.fetchNow}</button>`;
}

/** "held by mx1#ab12cd34 until 10:15 UTC", or free (PostgreSQL state; no cell otherwise). */
function holderCell(m: MailboxView, t: Texts): Html {
  const d = t.dashboard;
  if (m.holder === undefined) return html``;
  const h = m.holder;
  return cell(
    d.colHolder,
    h
      ? html`${d.heldBy} <code class="holder">${h.owner}</code><br><span class="muted small">${d.heldUntil} ${time(h.until, t)}</span>`
      : html`<span class="muted" title="${d.freeNote}">${d.free}</span>`,
  );
}

function mailboxRows(m: MailboxView, t: Texts, columns: number): Html {
  const d = t.dashboard;
  const next =
    m.state === 'paused'
      ? html`<span class="muted">${t.states.paused}</span>`
      : m.state === 'running'
        ? d.now
        : time(m.nextRunAt, t);
  return html`<tr>
  <th scope="row"><a href="/mailboxes/${encodeURIComponent(m.name)}">${m.name}</a><br><span class="muted small wrap">${m.user} @ ${m.host}</span></th>
  ${cell(d.colState, html`${badge(m.state, t)}${m.needsAction ? html`<br><span class="bad-text small" title="${d.needsActionNote}">${d.needsAction}</span>` : ''}`)}
  ${cell(d.colLast, lastResult(m, t))}
  ${cell(d.colToday, m.today, 'num')}
  ${cell(d.colNext, next)}
  ${holderCell(m, t)}
  <td class="row-actions">${fetchButton(m, t, 'small')}</td>
</tr>
${m.last?.error ? html`<tr class="error-row"><td colspan="${columns}">${errorBlock(m.last.error, t)}</td></tr>` : ''}`;
}

/** The mailboxes card's note: what needs attention, and "all fine" only when nothing does. */
function mailboxesNote(mailboxes: MailboxView[], t: Texts): { note: string; tone: string } {
  const failing = mailboxes.filter((m) => m.state === 'failing').length;
  const paused = mailboxes.filter((m) => m.state === 'paused').length;
  const action = mailboxes.filter((m) => m.needsAction).length;
  const notes = [
    action > 0 ? `${action} ${t.dashboard.needsAction}` : '',
    failing > 0 ? t.dashboard.failing(failing) : '',
    paused > 0 ? t.dashboard.paused(paused) : '',
  ];
  const note = notes.filter(Boolean).join(', ');
  return {
    note: note || t.dashboard.allFine,
    tone: failing > 0 ? 'stat-bad' : paused > 0 ? 'stat-warn' : 'stat-ok',
  };
}

export function dashboardView(d: Dashboard, t: Texts): Html {
  const x = t.dashboard;
  const today = d.mailboxes.reduce((n, m) => n + m.today, 0);
  const targetOk = d.target.state === 'ok' || d.target.state === 'unknown';
  const boxes = mailboxesNote(d.mailboxes, t);
  // A shared (PostgreSQL) state says who holds each mailbox; a folder state has one instance.
  const held = d.mailboxes.some((m) => m.holder !== undefined);
  const columns = held ? 7 : 6;
  return html`<h1>${x.title}</h1>
<div id="live-dashboard" data-live>
<section class="cards" aria-label="${x.summary}">
  <div class="card stat ${boxes.tone}"><span class="stat-label">${x.mailboxes}</span>
    <span class="stat-value">${d.mailboxes.length}</span><span class="stat-note">${boxes.note}</span></div>
  <div class="card stat ${targetOk ? 'stat-ok' : 'stat-bad'}"><span class="stat-label">${x.target}</span>
    <span class="stat-value">${badge(d.target.state, t)}</span><span class="stat-note">${d.target.where.replace(/^target /, '')}</span></div>
  <a class="card stat ${d.counts.deferred > 0 ? 'stat-warn' : ''}" href="/queue#deferred"><span class="stat-label">${x.deferred}</span>
    <span class="stat-value">${d.counts.deferred}</span><span class="stat-note">${x.deferredNote}</span></a>
  <a class="card stat ${d.counts.quarantined > 0 ? 'stat-warn' : ''}" href="/queue#quarantine"><span class="stat-label">${x.quarantined}</span>
    <span class="stat-value">${d.counts.quarantined}</span><span class="stat-note">${x.quarantinedNote}</span></a>
  <div class="card stat"><span class="stat-label">${x.today}</span>
    <span class="stat-value">${today}</span><span class="stat-note">${x.todayNote}</span></div>
</section>
${d.alerts.length > 0 ? html`<section class="card" role="alert"><h2>${x.alerts}</h2><ul>${d.alerts.map((a) => html`<li><strong class="bad-text">${a.title}</strong> <span class="muted small">(${x.alertSince} ${time(a.since, t)})</span><br><span class="small wrap">${a.detail}</span></li>`)}</ul></section>` : ''}
${d.target.error ? html`<section class="card"><h2>${x.target} ${badge(d.target.state, t)}</h2>${errorBlock(d.target.error, t)}</section>` : ''}
<section class="card">
  <h2>${x.mailboxes}</h2>
  <div class="table-wrap"><table class="stack">
    <thead><tr><th scope="col">${x.colMailbox}</th><th scope="col">${x.colState}</th><th scope="col">${x.colLast}</th><th scope="col" class="num">${x.colToday}</th><th scope="col">${x.colNext}</th>${held ? html`<th scope="col">${x.colHolder}</th>` : ''}<th scope="col"><span class="sr-only">${x.colActions}</span></th></tr></thead>
    <tbody>${d.mailboxes.length === 0 ? html`<tr><td colspan="${columns}" class="muted">${x.noMailboxes}</td></tr>` : d.mailboxes.map((m) => mailboxRows(m, t, columns))}</tbody>
  </table></div>
</section>
<section class="charts">
  <div class="card">${barChart(x.perHour, x, d.hourly, hourLabel)}</div>
  <div class="card">${barChart(x.perDay, x, d.daily, (ms) => dayLabel(ms, t.locale))}</div>
</section>
</div>`;
}
