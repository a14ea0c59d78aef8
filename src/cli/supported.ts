// What the configuration schema accepts but this version cannot do yet (a PostgreSQL state, IMAP
// mailboxes). Every command that reads the configuration refuses it here, at once and with one
// message, so `check` never approves what `run` would then fail on.
import type { Config } from '../config/index.js';
import { PostboteError } from '../errors.js';

export function refuseUnsupported(config: Config): void {
  if (config.stateKind === 'postgres') {
    throw new PostboteError('CONFIG_INVALID', 'a PostgreSQL state is not supported yet', {
      temporary: false,
      hint: 'set state: to a folder',
    });
  }
  const imap = config.mailboxes.find((m) => m.protocol !== 'pop3');
  if (imap) {
    throw new PostboteError(
      'CONFIG_INVALID',
      `mailbox ${imap.name}: protocol ${imap.protocol} is not supported yet`,
      { temporary: false, hint: 'use protocol: pop3' },
    );
  }
}
