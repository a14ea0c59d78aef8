// A `postbote queue` request as commander or a control client (through the running service's socket)
// passes it, checked in one place: the action, the message ID, the states listed.

/** The store's page size: a longer queue is a fault to fix, and the total is always printed. */
export const MAX_LISTED = 500;

export type QueueAction = 'list' | 'show' | 'retry' | 'release' | 'delete' | 'export';
const ACTIONS: readonly QueueAction[] = ['list', 'show', 'retry', 'release', 'delete', 'export'];
export const LISTED_STATES = ['deferred', 'quarantined'] as const;

export interface QueueArgs {
  action: QueueAction;
  id?: number;
  all?: boolean;
  state?: (typeof LISTED_STATES)[number];
  json?: boolean;
  to?: string;
}

/** Checks a queue request (from commander or from a control client); a string says what is wrong. */
export function queueArgs(raw: Record<string, unknown>): QueueArgs | string {
  const action = raw.action as QueueAction;
  if (!ACTIONS.includes(action)) return `unknown queue action ${String(raw.action).slice(0, 40)}`;
  const args: QueueArgs = { action, json: raw.json === true };
  if (raw.state !== undefined) {
    if (!(LISTED_STATES as readonly unknown[]).includes(raw.state))
      return `--state: expected deferred or quarantined, got "${String(raw.state).slice(0, 40)}"`;
    args.state = raw.state as QueueArgs['state'];
  }
  if (raw.to !== undefined) args.to = String(raw.to).slice(0, 320);
  if (action === 'retry' && raw.all === true) {
    args.all = true;
    return args;
  }
  if (action === 'list') return args;
  const id = Number(raw.id);
  if (!Number.isSafeInteger(id) || id <= 0)
    return `${action}: expected a message ID (a number from \`postbote queue\`)${action === 'retry' ? ' or --all' : ''}`;
  args.id = id;
  return args;
}
