// What a reload (SIGHUP) changes: mailboxes added, removed or changed take effect at once; sections the
// running process built its parts from (state, target, receive, web, scheduler limits) need a restart,
// and the admin is told which.
import type { Config, MailboxConfig } from '../config/index.js';

export interface ReloadDiff {
  added: string[];
  removed: string[];
  changed: string[];
  /** Sections that changed but take effect only at the next start. */
  restart: string[];
}

/** Sections applied by a reload; every other top-level section needs a restart. */
const LIVE_SECTIONS = new Set(['mailboxes', 'delivery', 'log']);
/** Scheduler keys a reload applies (the default interval); the rest size the running pools. */
const LIVE_SCHEDULER_KEYS = new Set(['interval']);

/** Enabled mailboxes by name; a disabled one counts as removed. */
function enabled(config: Config): Map<string, MailboxConfig> {
  return new Map(config.mailboxes.filter((m) => m.enabled).map((m) => [m.name, m]));
}

// Compared as JSON: configs are plain data (secrets included, only compared, never logged).
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function compareConfigs(running: Config, next: Config): ReloadDiff {
  const before = enabled(running);
  const after = enabled(next);
  const added = [...after.keys()].filter((n) => !before.has(n));
  const removed = [...before.keys()].filter((n) => !after.has(n));
  const changed = [...after.keys()].filter((n) => before.has(n) && !same(before.get(n), after.get(n)));
  const restart: string[] = [];
  const keys = new Set([...Object.keys(running), ...Object.keys(next)]) as Set<keyof Config>;
  for (const key of keys) {
    if (LIVE_SECTIONS.has(key) || same(running[key], next[key])) continue;
    if (key === 'scheduler') {
      for (const k of Object.keys(next.scheduler) as Array<keyof Config['scheduler']>) {
        if (!LIVE_SCHEDULER_KEYS.has(k) && !same(running.scheduler[k], next.scheduler[k]))
          restart.push(`scheduler.${k}`);
      }
      continue;
    }
    restart.push(key);
  }
  if (!same(running.log.file, next.log.file)) restart.push('log.file');
  if (!same(running.log.format, next.log.format)) restart.push('log.format');
  return { added, removed, changed, restart };
}
