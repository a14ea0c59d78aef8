// Loads the configuration and the logger the way every command does.
import { type Config, loadConfig } from '../config/index.js';
import { createLogger, type Logger } from '../log.js';

export function setup(file: string, quiet = false): { config: Config; logger: Logger } {
  const config = loadConfig(file);
  const level = process.env.POSTBOTE_LOG_LEVEL ?? (quiet ? 'warn' : config.log.level);
  return { config, logger: createLogger({ level }) };
}
