// Which language a page is written in: web.language when set (one language for every admin), else
// the browser's Accept-Language preference among those Postbote speaks, else English.
import { de } from './texts/de.js';
import { en, type Texts } from './texts/en.js';

export type { Texts } from './texts/en.js';
export type Language = 'en' | 'de';

const CATALOGUES: Record<Language, Texts> = { en, de };
/** Browsers send a few dozen characters; the rest of a longer header is not worth parsing. */
const MAX_ACCEPT_LANGUAGE = 512;

function isLanguage(tag: string): tag is Language {
  return Object.hasOwn(CATALOGUES, tag);
}

/** The best language Postbote has for an Accept-Language header (RFC 9110 12.5.4), or undefined. */
export function preferredLanguage(header: string | undefined): Language | undefined {
  if (!header) return undefined;
  let best: { lang: Language; q: number } | undefined;
  for (const item of header.slice(0, MAX_ACCEPT_LANGUAGE).split(',')) {
    const [range = '', ...params] = item.trim().split(';');
    const primary = range.trim().toLowerCase().split('-')[0] ?? '';
    const qParam = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!isLanguage(primary) || !Number.isFinite(q) || q <= 0) continue;
    // The first of equal weights wins: the browser lists them in the user's order.
    if (!best || q > best.q) best = { lang: primary, q };
  }
  return best?.lang;
}

export function pickLanguage(configured: Language | undefined, acceptLanguage: string | undefined): Language {
  return configured ?? preferredLanguage(acceptLanguage) ?? 'en';
}

export function textsFor(lang: Language): Texts {
  return CATALOGUES[lang];
}

/** The catalogue for one request: web.language, else the browser's Accept-Language. */
export function requestTexts(configured: Language | undefined, acceptLanguage: string | undefined): Texts {
  return textsFor(pickLanguage(configured, acceptLanguage));
}
