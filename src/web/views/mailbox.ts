// One mailbox: its state and last error with the fix, actions (fetch now, pause, resume) and recent sessions.

import type { StoredSession } from '../../store/types.js';
import type { MailboxView } from '../data.js';
import { errorBlock } from './dashboard.js';
import { badge, bytes, duration, type Html, html, time } from './html.js';

export function mailboxView(m: MailboxView, sessions: StoredSession[]): Html {
  const path = `/api/mailboxes/${encodeURIComponent(m.name)}`;
  return html`<p class="crumbs"><a href="/">Dashboard</a> › mailbox</p>
<div id="live-mailbox" data-live>
<h1>${m.name} ${badge(m.state)}</h1>
<section class="card">
  <dl class="facts">
    <div><dt>Server</dt><dd>${m.protocol.toUpperCase()} ${m.host}:${m.port}</dd></div>
    <div><dt>User</dt><dd>${m.user}</dd></div>
    <div><dt>Interval</dt><dd>${duration(m.intervalMs)}</dd></div>
    <div><dt>Next poll</dt><dd>${m.state === 'paused' ? 'paused' : time(m.nextRunAt)}</dd></div>
    <div><dt>Fetched today</dt><dd>${m.today}</dd></div>
    <div><dt>Failures in a row</dt><dd>${m.failures}</dd></div>
  </dl>
  <div class="actions">
    <button type="button" class="primary" data-post="${path}/fetch" data-done="Fetching ${m.name}…">Fetch now</button>
    ${
      m.state === 'paused'
        ? html`<button type="button" data-post="${path}/resume" data-done="Resumed">Resume</button>`
        : html`<button type="button" data-post="${path}/pause" data-done="Paused">Pause</button>`
    }
    <a class="button" href="/messages?mailbox=${encodeURIComponent(m.name)}">Messages</a>
  </div>
  ${m.last?.error ? errorBlock(m.last.error) : ''}
</section>
<section class="card">
  <h2>Recent sessions</h2>
  <div class="table-wrap"><table>
    <thead><tr><th scope="col">Started</th><th scope="col" class="num">Duration</th><th scope="col" class="num">Listed</th><th scope="col" class="num">Fetched</th><th scope="col" class="num">Delivered</th><th scope="col" class="num">Deferred</th><th scope="col" class="num">Quarantined</th><th scope="col" class="num">Bytes</th><th scope="col">Error</th></tr></thead>
    <tbody>${
      sessions.length === 0
        ? html`<tr><td colspan="9" class="muted">No sessions yet.</td></tr>`
        : sessions.map(
            (
              s,
            ) => html`<tr class="${s.error ? 'row-bad' : ''}"><td>${time(s.startedAt)}</td><td class="num">${duration(s.endedAt - s.startedAt)}</td>
<td class="num">${s.listed}</td><td class="num">${s.fetched}</td><td class="num">${s.delivered}</td><td class="num">${s.deferred}</td><td class="num">${s.quarantined}</td><td class="num">${bytes(s.bytes)}</td>
<td>${s.error ? html`<span class="bad-text">${s.error}</span>` : html`<span class="muted">—</span>`}</td></tr>`,
          )
    }</tbody>
  </table></div>
</section>
</div>`;
}
