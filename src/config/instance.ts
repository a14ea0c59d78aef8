// The name an instance goes by where several share one PostgreSQL state: in logs, metrics, the web
// page and as the owner of its mailbox leases. Defaults to the host name, plus the spool folder's name
// so that two instances on one host (postbote@a, postbote@b) still differ.
import { hostname } from 'node:os';
import { basename, resolve } from 'node:path';

export function instanceLabel(config: { instance?: string; spool?: string; state: string }): string {
  if (config.instance) return config.instance;
  const folder = basename(resolve(config.spool ?? config.state));
  return `${hostname()}:${folder}`;
}
