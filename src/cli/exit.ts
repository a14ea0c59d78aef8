// How the CLI ends on an error: the error's own description and hint, and an exit code by kind.
import { isPostboteError } from '../errors.js';

/** Exit codes: 1 = mail not (all) delivered or a check failed, 2 = configuration or usage error. */
export const EXIT_FAILED = 1;
export const EXIT_CONFIG = 2;

export function fail(err: unknown): never {
  if (isPostboteError(err)) {
    console.error(`postbote: ${err.describe()}`);
    process.exit(err.code === 'CONFIG_INVALID' ? EXIT_CONFIG : EXIT_FAILED);
  }
  console.error(`postbote: ${(err as Error)?.stack ?? String(err)}`);
  process.exit(EXIT_FAILED);
}
