// The queues that need an admin: quarantined messages (release, delete) and deferred ones (retry now,
// release elsewhere, delete), each with the reason in the server's own words.
import type { MessageRecord } from '../../store/types.js';
import type { Texts } from '../i18n.js';
import { filterBadge } from './filter.js';
import { type Html, html, time } from './html.js';
import { messageActions, shownSubject } from './messages.js';

function rows(messages: MessageRecord[], empty: string, t: Texts): Html {
  if (messages.length === 0) return html`<p class="muted">${empty}</p>`;
  return html`<ul class="queue">${messages.map(
    (m) => html`<li class="card queue-item">
  <div class="queue-head"><a href="/messages/${m.id}" class="wrap"><strong>${shownSubject(m, t)}</strong></a> ${filterBadge(m.filter, t)}
    <span class="muted small wrap">${t.queue.from} ${m.sender || '<>'} · ${m.mailbox} · ${time(m.fetchedAt, t)}</span></div>
  <p class="reason">${m.reason ?? ''}</p>
  ${m.nextAttemptAt ? html`<p class="small muted">${t.queue.nextAttempt} ${time(m.nextAttemptAt, t)} ${t.queue.attempt(m.attempts + 1)}</p>` : ''}
  ${messageActions(m, t)}
</li>`,
  )}</ul>`;
}

export function queueView(quarantined: MessageRecord[], deferred: MessageRecord[], t: Texts): Html {
  const x = t.queue;
  return html`<h1>${x.title}</h1>
<div id="live-queue" data-live>
<section aria-labelledby="quarantine"><h2 id="quarantine">${x.quarantine} <span class="count">${quarantined.length}</span></h2>
${rows(quarantined, x.noQuarantine, t)}</section>
<section aria-labelledby="deferred"><h2 id="deferred">${x.deferred} <span class="count">${deferred.length}</span></h2>
${rows(deferred, x.noDeferred, t)}</section>
</div>`;
}
