// The running configuration as the admin wrote it: YAML, durations and sizes in their units (5m,
// 100MB) rather than the milliseconds and bytes the schema turned them into. Secrets are masked before.
import { stringify } from 'yaml';
import { formatDuration } from '../config/index.js';

/** Keys holding a duration (ms) wherever they appear; every key under `timeouts` is one too. */
const DURATION_KEYS = new Set([
  'interval',
  'duplicateWindow',
  'sessionLifetime',
  'expireAfter',
  'shutdownGrace',
]);
/** Keys that are durations only under `retry` (elsewhere `max…` names a count). */
const RETRY_KEYS = new Set(['initial', 'max']);
const SIZE_KEYS = new Set(['maxMessageSize', 'maxScanSize']);

const SIZE_UNITS: Array<[string, number]> = [
  ['GB', 1024 ** 3],
  ['MB', 1024 ** 2],
  ['KB', 1024],
];

/** Bytes in the largest binary unit that divides them exactly (the schema reads 25MB as 25 MiB). */
export function formatSize(n: number): string {
  for (const [unit, size] of SIZE_UNITS) if (n >= size && n % size === 0) return `${n / size}${unit}`;
  return `${n}B`;
}

function unitOf(key: string, parent: string | undefined): 'duration' | 'size' | undefined {
  if (SIZE_KEYS.has(key)) return 'size';
  if (DURATION_KEYS.has(key) || parent === 'timeouts') return 'duration';
  if (parent === 'retry' && RETRY_KEYS.has(key)) return 'duration';
  // filters.timeout (global, or a mailbox's own filters): the wait for a scanner's verdict.
  if (parent === 'filters' && key === 'timeout') return 'duration';
  return undefined;
}

function humanise(value: unknown, key?: string, parent?: string): unknown {
  if (Array.isArray(value)) return value.map((v) => humanise(v, undefined, key));
  if (typeof value === 'number' && key !== undefined) {
    const unit = unitOf(key, parent);
    if (unit === 'duration') return formatDuration(value);
    if (unit === 'size') return formatSize(value);
    return value;
  }
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, inner] of Object.entries(value)) out[k] = humanise(inner, k, key);
  return out;
}

export function configText(redacted: unknown): string {
  return stringify(humanise(redacted), { lineWidth: 0 });
}
