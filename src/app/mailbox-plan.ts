// A mailbox's plan for the scheduler, from the configuration; and the spam/virus scanners its filters
// section needs, loaded only when a configuration has one.
import type { Config, MailboxConfig } from '../config/index.js';
import type { FiltersConfig } from '../config/types.js';
import type { FilterSet } from '../filters/scan.js';
import type { Logger } from '../log.js';
import type { ScheduledPlan } from '../scheduler/scheduler.js';
import { openSource, pushSource } from './mailbox-source.js';

let scanners: typeof import('../filters/scan.js') | undefined;

/**
 * Loads the scanner clients (rspamd, spamd, clamd, node:http): about 20 ms of start-up CPU that a
 * configuration without a filters section does not spend. createRuntime calls it for a configuration
 * that has one; `run` always (a reload may add one); mailboxPlan needs it before a filtered mailbox.
 */
export async function loadFilters(): Promise<void> {
  scanners ??= await import('../filters/scan.js');
}

export function hasFilters(config: Config): boolean {
  return config.filters !== undefined || config.mailboxes.some((m) => m.filters !== undefined);
}

/** One FilterSet per filters section: mailboxes sharing the global one share its concurrency caps. */
const filterSets = new WeakMap<FiltersConfig, FilterSet>();
function filtersFor(config: FiltersConfig | undefined): FilterSet | undefined {
  if (!config) return undefined;
  if (!scanners) throw new Error('a filters section before loadFilters()');
  let set = filterSets.get(config);
  if (!set) {
    set = scanners.filterSet(config);
    filterSets.set(config, set);
  }
  return set;
}

export function mailboxPlan(config: Config, mailbox: MailboxConfig, logger: Logger): ScheduledPlan {
  return {
    name: mailbox.name,
    user: mailbox.user,
    keep: mailbox.keep,
    deleteAfterDays: mailbox.deleteAfterDays,
    maxMessageSize: mailbox.maxMessageSize ?? config.delivery.maxMessageSize,
    maxReceivedHeaders: config.delivery.maxReceivedHeaders,
    envelopeSender: mailbox.envelopeSender ?? config.delivery.envelopeSender,
    route: { deliverTo: mailbox.deliverTo, catchAll: mailbox.catchAll, rules: mailbox.rules },
    fallback: mailbox.fallback,
    postmaster: config.delivery.postmaster,
    filters: filtersFor(mailbox.filters ?? config.filters),
    protocol: mailbox.protocol,
    host: mailbox.host,
    secure: mailbox.tls !== 'none',
    interval: mailbox.interval ?? config.scheduler.interval,
    open: (session?: { pipelining?: boolean; maxMessageSize?: number }) =>
      openSource(mailbox, logger, session),
    push: pushSource(mailbox, logger),
  };
}
