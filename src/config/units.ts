// Durations and sizes as people write them in YAML ('5m', '25MB'), turned into milliseconds and bytes.
// Pure functions: the schema wraps them, the tests table them.

const DURATION_UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

// Binary multiples: a '25MB' provider limit is almost always 25 MiB, and erring larger is harmless here.
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

const NUMBER = /^\d+(?:\.\d+)?$/;
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/;
const SIZE = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/;

/**
 * A duration in milliseconds, or undefined when the value is not one. A number (or numeric string)
 * counts as seconds, so `interval: 300` and `interval: 5m` mean the same.
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number')
    return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  if (NUMBER.test(text)) return Math.round(Number(text) * 1000);
  const match = DURATION.exec(text);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * DURATION_UNITS_MS[match[2]!]!);
}

/** A size in bytes, or undefined when the value is not one. A bare number counts as bytes. */
export function parseSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  if (/^\d+$/.test(text)) return Number(text);
  const match = SIZE.exec(text);
  if (!match) return undefined;
  const unit = SIZE_UNITS[match[2]!];
  return unit === undefined ? undefined : Math.round(Number(match[1]) * unit);
}

// Unit words people write ("5 minutes", "2 Stunden") and the unit they mean; only used to suggest.
const DURATION_WORDS: Array<[RegExp, string]> = [
  [/^(?:milliseconds?|millis?|msecs?)$/, 'ms'],
  [/^(?:seconds?|secs?|sekunden?|sek)$/, 's'],
  [/^(?:minutes?|mins?|minuten?)$/, 'm'],
  [/^(?:hours?|hrs?|stunden?|std)$/, 'h'],
  [/^(?:days?|tage?n?)$/, 'd'],
  [/^(?:weeks?|wochen?)$/, 'w'],
];

/** "5 minutes" → "5m": what to write instead of a duration in words, or undefined if it is not one. */
export function suggestDuration(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+(?:[.,]\d+)?)\s*([a-zäöü]+)\.?$/.exec(value.trim().toLowerCase());
  if (!match) return undefined;
  const unit = DURATION_WORDS.find(([words]) => words.test(match[2]!))?.[1];
  return unit === undefined ? undefined : `${match[1]!.replace(',', '.')}${unit}`;
}

// Size words people write ("25 megs", "500 kilobytes") and the unit to write instead; only used to suggest.
const SIZE_WORDS: Array<[RegExp, string]> = [
  [/^(?:kilo(?:byte)?s?|kbytes?)$/, 'KB'],
  [/^(?:megs?|mega(?:byte)?s?|mbytes?)$/, 'MB'],
  [/^(?:gigs?|giga(?:byte)?s?|gbytes?)$/, 'GB'],
];

/** "25 megs" → "25MB": what to write instead of a size in words, or undefined if it is not one. */
export function suggestSize(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+(?:[.,]\d+)?)\s*([a-z]+)\.?$/.exec(value.trim().toLowerCase());
  if (!match) return undefined;
  const unit = SIZE_WORDS.find(([words]) => words.test(match[2]!))?.[1];
  return unit === undefined ? undefined : `${match[1]!.replace(',', '.')}${unit}`;
}

/** Formats milliseconds back into the shortest exact unit, for `postbote check` and the web page. */
export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    const size = DURATION_UNITS_MS[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
