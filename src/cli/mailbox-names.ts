// Which mailboxes a command may name, said when it names none or one that does not exist: a user who
// typed the name from memory gets the list (and the closest name), not just "no such mailbox".
import type { Config } from '../config/index.js';
import { closest } from '../config/suggest.js';
import { PostboteError } from '../errors.js';

/**
 * A usage error (CONFIG_INVALID, exit 2) for names that are not mailboxes of `config`, or (with
 * `enabledOnly`) are disabled; undefined when every name is fine.
 */
export function mailboxNameError(
  config: Config,
  names: readonly string[],
  options: { enabledOnly?: boolean } = {},
): PostboteError | undefined {
  const usable = config.mailboxes.filter((m) => !options.enabledOnly || m.enabled).map((m) => m.name);
  for (const name of names) {
    if (usable.includes(name)) continue;
    const disabled = config.mailboxes.some((m) => m.name === name && !m.enabled);
    const suggestion = disabled ? undefined : closest(name, usable);
    return new PostboteError(
      'CONFIG_INVALID',
      disabled ? `mailbox ${name} is disabled (enabled: false)` : `no mailbox named ${name}`,
      {
        temporary: false,
        hint: `${suggestion ? `did you mean ${suggestion}? ` : ''}${listing(usable, options.enabledOnly)}`,
      },
    );
  }
  return undefined;
}

/** For a command that needs exactly one mailbox and got none. */
export function mailboxRequiredError(config: Config): PostboteError {
  const names = config.mailboxes.map((m) => m.name);
  return new PostboteError('CONFIG_INVALID', 'which mailbox? give it with --mailbox NAME', {
    temporary: false,
    hint: listing(names, false),
  });
}

function listing(names: readonly string[], enabledOnly: boolean | undefined): string {
  if (names.length === 0) return `the configuration has no${enabledOnly ? ' enabled' : ''} mailboxes`;
  return `${enabledOnly ? 'enabled mailboxes' : 'mailboxes'}: ${names.join(', ')}`;
}
