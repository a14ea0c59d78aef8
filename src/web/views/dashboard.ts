// The dashboard: is mail flowing? Every mailbox with its state and last result, the target's health,
// the queues, and activity over 24 hours and 7 days.
import type { Dashboard, ErrorView, MailboxView } from '../data.js';
import { barChart, dayLabel, hourLabel } from './chart.js';
import { badge, type Html, html, time } from './html.js';

export function errorBlock(e: ErrorView | null): Html {
  if (!e) return html``;
  return html`<div class="error-block">
  <p><strong>${e.where ? `${e.where}: ` : ''}${e.message}</strong></p>
  ${e.reply ? html`<p class="reply">Server said: <code>${e.reply.code}${e.reply.enhanced ? ` ${e.reply.enhanced}` : ''} ${e.reply.text}</code></p>` : ''}
  ${e.hint ? html`<p class="hint"><span aria-hidden="true">💡</span> <strong>Fix:</strong> ${e.hint}</p>` : ''}
</div>`;
}

function lastResult(m: MailboxView): Html {
  if (!m.last) return html`<span class="muted">not polled yet</span>`;
  const l = m.last;
  const counts = `${l.fetched} fetched, ${l.delivered} delivered${l.deferred ? `, ${l.deferred} deferred` : ''}${l.quarantined ? `, ${l.quarantined} quarantined` : ''}`;
  return html`${time(l.at)}<br><span class="${l.ok ? 'ok-text' : 'bad-text'}">${l.ok ? counts : (l.error?.code ?? 'failed')}</span>`;
}

function mailboxRows(m: MailboxView): Html {
  return html`<tr>
  <th scope="row"><a href="/mailboxes/${encodeURIComponent(m.name)}">${m.name}</a><br><span class="muted small">${m.user} @ ${m.host}</span></th>
  <td>${badge(m.state)}</td>
  <td>${lastResult(m)}</td>
  <td class="num">${m.today}</td>
  <td>${m.state === 'paused' ? html`<span class="muted">paused</span>` : m.state === 'running' ? 'now' : time(m.nextRunAt)}</td>
  <td><button type="button" class="small" data-post="/api/mailboxes/${encodeURIComponent(m.name)}/fetch" data-done="Fetching ${m.name}…">Fetch now</button></td>
</tr>
${m.last?.error ? html`<tr class="error-row"><td colspan="6">${errorBlock(m.last.error)}</td></tr>` : ''}`;
}

export function dashboardView(d: Dashboard): Html {
  const failing = d.mailboxes.filter((m) => m.state === 'failing').length;
  const today = d.mailboxes.reduce((n, m) => n + m.today, 0);
  const targetOk = d.target.state === 'ok' || d.target.state === 'unknown';
  return html`<h1>Dashboard</h1>
<div id="live-dashboard" data-live>
<section class="cards" aria-label="Summary">
  <div class="card stat ${failing > 0 ? 'stat-bad' : 'stat-ok'}"><span class="stat-label">Mailboxes</span>
    <span class="stat-value">${d.mailboxes.length}</span><span class="stat-note">${failing > 0 ? `${failing} failing` : 'all fine'}</span></div>
  <div class="card stat ${targetOk ? 'stat-ok' : 'stat-bad'}"><span class="stat-label">Target</span>
    <span class="stat-value">${badge(d.target.state)}</span><span class="stat-note">${d.target.where.replace(/^target /, '')}</span></div>
  <a class="card stat ${d.counts.deferred > 0 ? 'stat-warn' : ''}" href="/queue#deferred"><span class="stat-label">Deferred</span>
    <span class="stat-value">${d.counts.deferred}</span><span class="stat-note">waiting for retry</span></a>
  <a class="card stat ${d.counts.quarantined > 0 ? 'stat-warn' : ''}" href="/queue#quarantine"><span class="stat-label">Quarantined</span>
    <span class="stat-value">${d.counts.quarantined}</span><span class="stat-note">need a decision</span></a>
  <div class="card stat"><span class="stat-label">Fetched today</span>
    <span class="stat-value">${today}</span><span class="stat-note">UTC day</span></div>
</section>
${d.target.error ? html`<section class="card"><h2>Target ${badge(d.target.state)}</h2>${errorBlock(d.target.error)}</section>` : ''}
<section class="card">
  <h2>Mailboxes</h2>
  <div class="table-wrap"><table>
    <thead><tr><th scope="col">Mailbox</th><th scope="col">State</th><th scope="col">Last poll</th><th scope="col" class="num">Today</th><th scope="col">Next poll</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
    <tbody>${d.mailboxes.length === 0 ? html`<tr><td colspan="6" class="muted">No mailboxes configured.</td></tr>` : d.mailboxes.map(mailboxRows)}</tbody>
  </table></div>
</section>
<section class="charts">
  <div class="card">${barChart('Messages per hour, last 24 hours', d.hourly, hourLabel)}</div>
  <div class="card">${barChart('Messages per day, last 7 days', d.daily, dayLabel)}</div>
</section>
</div>`;
}
