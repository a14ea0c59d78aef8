// Loads the configuration and the logger the way every command does.
import { dirname, resolve } from 'node:path';
import { type Config, loadConfig } from '../config/index.js';
import { parseDuration } from '../config/units.js';
import { PostboteError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { refuseUnsupported, type StateReader } from './supported.js';

export function setup(
  file: string,
  quiet = false,
  command?: StateReader,
): { config: Config; logger: Logger } {
  const config = loadConfig(file);
  refuseUnsupported(config, command);
  const level = process.env.POSTBOTE_LOG_LEVEL ?? (quiet ? 'warn' : config.log.level);
  const logFile = config.log.file === undefined ? undefined : resolve(dirname(file), config.log.file);
  return { config, logger: createLogger({ level, file: logFile, format: config.log.format }) };
}

/** `--wait 30s` in milliseconds; a bad value is a usage error (exit 2), not a silent default. */
export function waitMs(text: string | undefined): number {
  const ms = parseDuration(text ?? '0');
  if (ms === undefined) {
    throw new PostboteError(
      'CONFIG_INVALID',
      `--wait: expected a duration such as 30s or 5m, got "${text}"`,
      {
        temporary: false,
      },
    );
  }
  return ms;
}

/** Tells the user once that this command waits for another process, and for whom. */
export function sayWaiting(logger: Logger, interactive: boolean, waitText: string | undefined) {
  return (holder: string): void => {
    const line = `state in use by ${holder}; waiting up to ${waitText}`;
    if (interactive) console.error(`postbote: ${line}`);
    else logger.info(line);
  };
}
