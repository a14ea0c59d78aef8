// When the daily digest is due: the most recent local `HH:MM` has passed since the last one went out.

/** The latest instant at local time `at` (HH:MM) not after `now`. */
export function lastSlot(at: string, now: number): number {
  const [h, m] = at.split(':').map(Number) as [number, number];
  const d = new Date(now);
  d.setHours(h, m, 0, 0);
  if (d.getTime() > now) d.setDate(d.getDate() - 1);
  return d.getTime();
}

export function digestDue(at: string, lastSent: number, now: number): boolean {
  return lastSlot(at, now) > lastSent;
}
