// Which alerts start and which clear, from what is wrong now: a pure step over the previous state, so
// one condition raises one alert when it starts and one recovery when it ends, however often it is seen.

/** Something wrong now, as one check sees it. */
export interface Observation {
  /** Stable per condition and subject: 'mailbox:info', 'target', 'cert:pop.x:995', 'disk'. */
  key: string;
  title: string;
  /** What exactly, with the server's words and the fix where known. */
  detail: string;
  /** How long it must last before it is raised (0: at once). */
  holdMs: number;
  /** When it started, if the check knows better than "first seen now" (a mailbox's first failing pass). */
  since?: number;
}

export interface ActiveAlert {
  key: string;
  title: string;
  detail: string;
  since: number;
  raisedAt: number;
}

export interface AlertState {
  /** Raised and not yet cleared. */
  active: Record<string, ActiveAlert>;
  /** Seen but not yet long enough to raise: when each was first seen (survives a restart). */
  pending: Record<string, number>;
  /** When the last daily digest went out (epoch ms), if ever. */
  digestAt?: number;
}

export interface Step {
  state: AlertState;
  raised: ActiveAlert[];
  cleared: Array<ActiveAlert & { clearedAt: number }>;
}

export const emptyState = (): AlertState => ({ active: {}, pending: {} });

/**
 * `unknown(key)`: no check could tell yet whether that condition holds (after a restart, before the
 * mailbox's first pass, the target's first connection, a certificate's first handshake); its alert or
 * pending entry is carried over as it was, neither raised again nor cleared.
 */
export function step(
  prev: AlertState,
  observed: Observation[],
  now: number,
  unknown: (key: string) => boolean,
): Step {
  const state: AlertState = { active: {}, pending: {}, digestAt: prev.digestAt };
  const raised: ActiveAlert[] = [];
  const seen = new Set<string>();
  for (const o of observed) {
    if (seen.has(o.key)) continue;
    seen.add(o.key);
    const active = prev.active[o.key];
    if (active) {
      // Still on: the latest words for the dashboard, no new alert.
      state.active[o.key] = { ...active, detail: o.detail };
      continue;
    }
    const since = Math.min(prev.pending[o.key] ?? now, o.since ?? now);
    if (now - since >= o.holdMs) {
      const alert = { key: o.key, title: o.title, detail: o.detail, since, raisedAt: now };
      state.active[o.key] = alert;
      raised.push(alert);
    } else state.pending[o.key] = since;
  }
  const cleared: Step['cleared'] = [];
  for (const [key, alert] of Object.entries(prev.active)) {
    if (seen.has(key)) continue;
    if (unknown(key)) state.active[key] = alert;
    else cleared.push({ ...alert, clearedAt: now });
  }
  for (const [key, since] of Object.entries(prev.pending)) {
    if (!seen.has(key) && unknown(key)) state.pending[key] = since;
  }
  return { state, raised, cleared };
}
