// How the CLI ends on an error: the error's own description and hint, and an exit code by kind.
import { type ErrorCode, isPostboteError } from '../errors.js';

/**
 * Exit codes: 1 = mail not (all) delivered or a check failed, 2 = configuration or usage error,
 * 3 = the state is in use by another postbote process (nothing was done; try again later). A code of
 * its own so a cron wrapper can tell "busy" from "failed" (fetchmail's 8 means the same).
 */
export const EXIT_FAILED = 1;
export const EXIT_CONFIG = 2;
export const EXIT_IN_USE = 3;

export function exitCodeOf(code: ErrorCode): number {
  if (code === 'CONFIG_INVALID') return EXIT_CONFIG;
  if (code === 'STATE_IN_USE') return EXIT_IN_USE;
  return EXIT_FAILED;
}

export function fail(err: unknown): never {
  if (isPostboteError(err)) {
    console.error(`postbote: ${err.describe()}`);
    process.exit(exitCodeOf(err.code));
  }
  console.error(`postbote: ${(err as Error)?.stack ?? String(err)}`);
  process.exit(EXIT_FAILED);
}
