// What the configuration schema accepts but this version cannot do: `backup` of a PostgreSQL state
// (pg_dump's job). Every command that reads the configuration refuses it here, at once
// and with one message, so `check` never approves what `run` would then fail on.
import type { Config } from '../config/index.js';
import { PostboteError } from '../errors.js';

/** Commands that read the state themselves rather than through the runtime's store. */
export type StateReader = 'backup';

const ON_POSTGRES: Record<StateReader, string> = {
  backup:
    'postbote backup copies a folder state; back up a PostgreSQL state with pg_dump, plus the spool folder',
};

export function refuseUnsupported(config: Config, command?: StateReader): void {
  if (config.stateKind === 'postgres' && command !== undefined) {
    throw new PostboteError('CONFIG_INVALID', ON_POSTGRES[command], {
      temporary: false,
      hint: 'pg_dump the database (e.g. pg_dump -Fc postbote > postbote.dump) and copy the spool folder',
    });
  }
}
