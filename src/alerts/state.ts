// The alerts' state in `<state folder>/alerts.json`: what is raised, what is pending, when the last
// digest went out, so a restart neither raises again what was raised nor forgets a recovery to send.
// A small JSON file rather than a table: it is a dozen entries written a few times a day, the same for
// a SQLite and a PostgreSQL state (it describes this instance: its disk, the certificates it saw), and
// needs no migration on two backends. Written to a temporary file, fsynced, renamed: never half a file.
import { open, readFile, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from '../config/index.js';
import { instanceLabel } from '../config/instance.js';
import { type AlertState, emptyState } from './conditions.js';

export const ALERTS_FILE = 'alerts.json';
/**
 * The store's mailbox name for alert and digest mail. Not a configured mailbox: only the watcher
 * delivers these records, one tick at a time, so no pass of a mailbox ever races it for one. Here,
 * not in watcher.ts, so the queue actions know it without loading the watcher.
 */
export const ALERTS_MAILBOX = '(alerts)';

/**
 * The alert mailbox of this instance. Several instances on one PostgreSQL state each watch what they
 * see (their disk, their certificates, their passes) and queue their own alert mail, whose bytes are
 * in their own spool: each delivers only its own, under `(alerts NAME)`, so no two watchers ever race
 * for one record. NAME is the configured `instance:` label (stable across restarts, unlike the owner
 * id), so a restarted instance sends what its predecessor queued.
 */
export function alertsMailbox(config: Pick<Config, 'state' | 'stateKind' | 'spool' | 'instance'>): string {
  return config.stateKind === 'postgres'
    ? `${ALERTS_MAILBOX.slice(0, -1)} ${instanceLabel(config)})`
    : ALERTS_MAILBOX;
}

/** Whether a store mailbox holds alert mail (of this or another instance): no pass delivers it. */
export function isAlertsMailbox(name: string): boolean {
  return name === ALERTS_MAILBOX || (name.startsWith('(alerts ') && name.endsWith(')'));
}
// A state file larger than this is not ours (the file holds a few dozen short entries): ignored.
const MAX_STATE_BYTES = 1024 * 1024;

/** The folder with the lock and the spool: the state folder, or `spool:` beside a PostgreSQL state. */
export function alertsPath(config: Pick<Config, 'state' | 'stateKind' | 'spool'>): string {
  const dir = config.stateKind === 'postgres' ? (config.spool ?? '.') : config.state;
  return join(resolve(dir), ALERTS_FILE);
}

/** The saved state; empty when there is none or it cannot be read (then alerts start afresh). */
export async function loadAlertState(path: string): Promise<AlertState> {
  let text: string;
  try {
    const buf = await readFile(path);
    if (buf.length > MAX_STATE_BYTES) return emptyState();
    text = buf.toString('utf8');
  } catch {
    return emptyState();
  }
  try {
    const data = JSON.parse(text) as Partial<AlertState>;
    if (typeof data !== 'object' || data === null) return emptyState();
    return {
      active: typeof data.active === 'object' && data.active !== null ? data.active : {},
      pending: typeof data.pending === 'object' && data.pending !== null ? data.pending : {},
      ...(typeof data.digestAt === 'number' ? { digestAt: data.digestAt } : {}),
    };
  } catch {
    return emptyState();
  }
}

export async function saveAlertState(path: string, state: AlertState): Promise<void> {
  const tmp = `${path}.tmp`;
  const file = await open(tmp, 'w', 0o600);
  try {
    await file.writeFile(`${JSON.stringify(state, null, 1)}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
}
