// The queues that need an admin: quarantined messages (release, delete) and deferred ones (retry now,
// release elsewhere, delete), each with the reason in the server's own words.
import type { MessageRecord } from '../../store/types.js';
import { type Html, html, time } from './html.js';
import { messageActions } from './messages.js';

function rows(messages: MessageRecord[], empty: string): Html {
  if (messages.length === 0) return html`<p class="muted">${empty}</p>`;
  return html`<ul class="queue">${messages.map(
    (m) => html`<li class="card queue-item">
  <div class="queue-head"><a href="/messages/${m.id}"><strong>${m.subject ?? '(no subject)'}</strong></a>
    <span class="muted small">from ${m.sender || '<>'} · ${m.mailbox} · ${time(m.fetchedAt)}</span></div>
  <p class="reason">${m.reason ?? ''}</p>
  ${m.nextAttemptAt ? html`<p class="small muted">Next attempt ${time(m.nextAttemptAt)} (attempt ${m.attempts + 1})</p>` : ''}
  ${messageActions(m)}
</li>`,
  )}</ul>`;
}

export function queueView(quarantined: MessageRecord[], deferred: MessageRecord[]): Html {
  return html`<h1>Queue</h1>
<div id="live-queue" data-live>
<section aria-labelledby="quarantine"><h2 id="quarantine">Quarantine <span class="count">${quarantined.length}</span></h2>
${rows(quarantined, 'Nothing is quarantined.')}</section>
<section aria-labelledby="deferred"><h2 id="deferred">Deferred <span class="count">${deferred.length}</span></h2>
${rows(deferred, 'Nothing is waiting for a retry.')}</section>
</div>`;
}
