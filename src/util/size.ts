// Sizes as people read them in messages and CLI output ("2.9 KB", "35 MB"), binary multiples as mail
// servers and Exchange's MaxMessageSize count them.

const UNITS = ['KB', 'MB', 'GB', 'TB'];

/** 512 → "512 bytes", 3020 → "2.9 KB", 36700160 → "35 MB" (one decimal below 10, none above). */
export function humanSize(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  if (Math.abs(bytes) < 1024) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  let value = bytes / 1024;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = Math.abs(value) < 10 ? (Math.floor(value * 10) / 10).toFixed(1) : String(Math.floor(value));
  return `${shown} ${UNITS[unit]}`;
}
