// Bar charts as inline SVG (no script, no external library): fetched per bucket, with a text
// alternative for screen readers and a <title> per bar for pointer users.
import type { ActivityBucket } from '../../store/types.js';
import type { Texts } from '../i18n.js';
import { type Html, html } from './html.js';

const W = 600;
const H = 160;
const PAD_BOTTOM = 22;
const PAD_TOP = 14;

export function barChart(
  title: string,
  t: Pick<Texts['dashboard'], 'chartTotal' | 'bar'>,
  buckets: ActivityBucket[],
  label: (start: number) => string,
): Html {
  const max = Math.max(1, ...buckets.map((b) => b.fetched));
  const slot = W / Math.max(1, buckets.length);
  const bar = Math.max(2, slot * 0.7);
  const total = buckets.reduce((n, b) => n + b.fetched, 0);
  const every = Math.ceil(buckets.length / 8);
  return html`<figure class="chart">
  <figcaption>${title} <span class="muted">${t.chartTotal(total)}</span></figcaption>
  <svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${title}: ${buckets.map((b) => `${label(b.start)} ${b.fetched}`).join(', ')}">
    <line x1="0" y1="${H - PAD_BOTTOM}" x2="${W}" y2="${H - PAD_BOTTOM}" class="axis"/>
    <text x="2" y="10" class="tick">${max}</text>
    ${buckets.map((b, i) => {
      const h = ((H - PAD_BOTTOM - PAD_TOP) * b.fetched) / max;
      const x = i * slot + (slot - bar) / 2;
      return html`<rect x="${x.toFixed(1)}" y="${(H - PAD_BOTTOM - h).toFixed(1)}" width="${bar.toFixed(1)}" height="${Math.max(0, h).toFixed(1)}" rx="2" class="bar"><title>${t.bar(label(b.start), b.fetched, b.delivered)}</title></rect>
    ${i % every === 0 ? html`<text x="${(i * slot + slot / 2).toFixed(1)}" y="${H - 6}" text-anchor="middle" class="tick">${label(b.start)}</text>` : ''}`;
    })}
  </svg>
</figure>`;
}

export const hourLabel = (ms: number) => `${String(new Date(ms).getUTCHours()).padStart(2, '0')}h`;
export const dayLabel = (ms: number, locale: string) =>
  new Date(ms).toLocaleDateString(locale, { weekday: 'short', day: 'numeric', timeZone: 'UTC' });
