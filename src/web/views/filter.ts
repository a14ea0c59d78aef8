// The spam/virus filter's verdict as the admin reads it (issue 16): a badge (clean, spam, virus, not
// scanned) for the message log and the queue, and on the message page each scanner's result (score and
// required score with the rules, the virus's name, or why it was not scanned) and the action taken.
import type { FilterVerdict, ScanResult, VerdictKind } from '../../filters/types.js';
import type { Texts } from '../i18n.js';
import { cell, type Html, html, time } from './html.js';

/** rspamd and spamd list dozens of rules; the page shows this many, the rest is in the headers. */
const MAX_RULES_SHOWN = 20;

function kindOf(r: ScanResult): VerdictKind {
  if (r.status === 'skipped') return 'unscanned';
  return r.status === 'infected' ? 'virus' : r.status;
}

function verdictBadge(kind: VerdictKind, t: Texts): Html {
  return html`<span class="badge badge-filter-${kind}">${t.records.verdicts[kind]}</span>`;
}

/** A score as people write it: at most two decimals, in the page's language; a missing one as "?". */
function score(n: number | null | undefined, t: Texts): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '?';
  return n.toLocaleString(t.locale, { maximumFractionDigits: 2 });
}

/** The small badge of the message log and the queue; nothing for a message no filter looked at. */
export function filterBadge(v: FilterVerdict | null | undefined, t: Texts): Html {
  if (!v) return html``;
  return html`<span class="badge badge-filter-${v.verdict}" title="${t.records.verdictOf(t.records.verdicts[v.verdict])}">${t.records.verdicts[v.verdict]}</span>`;
}

function resultDetail(r: ScanResult, t: Texts): Html {
  const x = t.records;
  if (r.status === 'skipped') return html`${x.notScanned(r.reason)}`;
  if (r.status === 'infected') return html`${verdictBadge('virus', t)} ${r.virus ?? ''}`;
  const parts: string[] = [];
  if (r.type !== 'clamd') parts.push(x.score(score(r.score, t), score(r.required, t)));
  if (r.action) parts.push(x.scannerAction(r.action));
  if (r.symbols?.length) {
    const more = r.symbols.length > MAX_RULES_SHOWN ? ', …' : '';
    parts.push(x.rules(`${r.symbols.slice(0, MAX_RULES_SHOWN).join(', ')}${more}`));
  }
  return html`${verdictBadge(kindOf(r), t)} ${parts.join(' ')}`;
}

/** The message page's section: the verdict, the action, each scanner; nothing when not filtered. */
export function filterSection(v: FilterVerdict | null | undefined, t: Texts): Html {
  if (!v) return html``;
  const x = t.records;
  return html`<section class="card filter-verdict">
  <h2>${x.filter} ${verdictBadge(v.verdict, t)}</h2>
  <dl class="facts">
    <div><dt>${x.action}</dt><dd>${x.actions[v.action]}${v.notify ? html`, ${x.notified}` : ''}</dd></div>
    <div><dt>${x.scanned}</dt><dd>${time(v.at, t)}</dd></div>
  </dl>
  <div class="table-wrap"><table class="stack">
    <thead><tr><th scope="col">${x.scanner}</th><th scope="col">${x.result}</th></tr></thead>
    <tbody>${v.results.map((r) => html`<tr>${cell(x.scanner, r.scanner, 'wrap')}${cell(x.result, resultDetail(r, t), 'wrap')}</tr>`)}</tbody>
  </table></div>
</section>`;
}
