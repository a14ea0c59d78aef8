// Safe HTML building: every interpolated value is escaped unless it is already Html (built by `html`).
// Keeps the server-rendered pages free of injection without a template engine.
import type { Texts } from '../i18n.js';

export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type Part = Html | string | number | boolean | null | undefined | Part[];

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return '';
  if (part instanceof Html) return part.value;
  if (Array.isArray(part)) return part.map(render).join('');
  return escapeHtml(String(part));
}

/** Tagged template: `html\`<td>${value}</td>\`` escapes value; nested html`` and arrays pass through. */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new Html(out);
}

/** Text the page trusts (static markup written here), never user or server data. */
export function raw(markup: string): Html {
  return new Html(markup);
}

const TIME_FORMATS = new Map<string, Intl.DateTimeFormat>();

function timeFormat(locale: string): Intl.DateTimeFormat {
  let format = TIME_FORMATS.get(locale);
  if (!format) {
    format = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'medium', timeZone: 'UTC' });
    TIME_FORMATS.set(locale, format);
  }
  return format;
}

/** An absolute time the browser's script turns into the reader's local time and "3 min ago". */
export function time(ms: number | null | undefined, t: Texts): Html {
  if (ms === null || ms === undefined) return html`<span class="muted">—</span>`;
  const iso = new Date(ms).toISOString();
  return html`<time datetime="${iso}">${timeFormat(t.locale).format(ms)} UTC</time>`;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** A state as a coloured badge; the word is always there (in the page's language), colour only repeats it. */
export function badge(state: string, t: Texts): Html {
  const word = Object.hasOwn(t.states, state) ? t.states[state as keyof Texts['states']] : state;
  return html`<span class="badge badge-${state.replace(/[^a-z-]/g, '')}">${word}</span>`;
}

/** A table cell that stacks under its column's name on a phone (the CSS shows data-label there). */
export function cell(label: string, content: Part, className = ''): Html {
  return html`<td data-label="${label}"${className ? html` class="${className}"` : ''}>${content}</td>`;
}
