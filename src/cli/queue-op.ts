// Carrying out a queue request, in this process or in the running service alike: the read-only
// actions print (queue-view.ts), retry, release and delete are the web page's own (src/web/actions.ts).
import { isAlertsMailbox } from '../alerts/state.js';
import type { ControlIo } from '../control/server.js';
import type { MessageRecord } from '../store/types.js';
import { type ActionDeps, ActionError, release, remove, retry } from '../web/actions.js';
import { EXIT_CONFIG, EXIT_FAILED } from './exit.js';
import { guarded, type OpEnv } from './op-env.js';
import { MAX_LISTED, type QueueArgs } from './queue-args.js';
import { exportMessage, list, show } from './queue-view.js';

/** The queue request, in this process or in the service. */
export async function queueOp(env: OpEnv, args: QueueArgs, io: ControlIo): Promise<number> {
  return guarded(io, async () => {
    const deps: ActionDeps = {
      store: env.runtime.store,
      spool: env.runtime.spool,
      scheduler: env.scheduler,
      now: Date.now,
      logger: env.logger,
      ...(env.wake ? { wake: env.wake } : {}),
    };
    const act = async (what: string, id: number, change: () => Promise<MessageRecord>): Promise<number> => {
      try {
        // Logged by the action itself, with the OS user, as the web page's actions are.
        const rec = await change();
        io.out(`message ${id}: ${what}; now ${rec.state}${nextStep(env, rec)}\n`);
        return 0;
      } catch (err) {
        if (!(err instanceof ActionError)) throw err;
        io.err(`postbote: ${err.message}\n`);
        return err.status === 400 ? EXIT_CONFIG : EXIT_FAILED;
      }
    };
    switch (args.action) {
      case 'list':
        return list(env, args, io);
      case 'show':
        return show(env, args.id!, args.json === true, io);
      case 'export':
        return exportMessage(env, args.id!, io);
      case 'retry': {
        if (!args.all) return act('retry requested', args.id!, () => retry(deps, args.id!, io.user));
        const { messages } = await env.runtime.store.searchMessages({
          states: ['deferred'],
          limit: MAX_LISTED,
        });
        let code = 0;
        for (const m of messages)
          code = Math.max(code, await act('retry requested', m.id, () => retry(deps, m.id, io.user)));
        if (messages.length === 0) io.out('no deferred message\n');
        return code;
      }
      case 'release': {
        const rec = await env.runtime.store.get(args.id!);
        const to = args.to ?? (rec ? soleRecipient(rec) : undefined);
        if (rec && !to) {
          io.err(
            `postbote: message ${args.id} has several recipients (${rec.recipients.map((r) => r.address).join(', ')}); say which with --to ADDRESS\n`,
          );
          return EXIT_CONFIG;
        }
        return act(`released to ${to}`, args.id!, () => release(deps, args.id!, to ?? '', io.user));
      }
      case 'delete':
        return act('deleted', args.id!, () => remove(deps, args.id!, io.user));
    }
  });
}

/**
 * Without --to a message goes back to its one recipient still open (or, when none is, its first one,
 * so the action itself says why it does not apply); with several, the admin must choose.
 */
function soleRecipient(rec: MessageRecord): string | undefined {
  const open = rec.recipients.filter((r) => r.status !== 'delivered' && r.status !== 'duplicate');
  if (open.length === 0) return rec.recipients[0]?.address;
  return open.length === 1 ? open[0]!.address : undefined;
}

function nextStep(env: OpEnv, rec: MessageRecord): string {
  if (rec.state !== 'spooled' && rec.state !== 'deferred') return '';
  if (isAlertsMailbox(rec.mailbox))
    return env.service
      ? ' (the alert watcher sends it within alerts.checkEvery)'
      : ' (sent by the alert watcher of postbote run)';
  return env.service ? ' (the service delivers it now)' : ' (delivered by the next postbote fetch or run)';
}
