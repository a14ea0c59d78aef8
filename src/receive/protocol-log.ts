// Adapts pino to the bunyan-style calls smtp-server makes (`logger.debug(fields, 'S:', line)`), which
// pino would cut to 'S:'. smtp-server tags every line with the session id `cid` and masks AUTH itself.
import { format } from 'node:util';
import type { Logger } from '../log.js';

type Method = (fields: object, message?: string, ...args: unknown[]) => void;
export type ProtocolLogger = Record<'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal', Method> & {
  child(bindings: object): ProtocolLogger;
};

export function protocolLogger(log: Logger): ProtocolLogger {
  const level =
    (name: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'): Method =>
    (fields, message, ...args) => {
      if (!log.isLevelEnabled(name)) return;
      log[name](fields, args.length > 0 ? format(message ?? '', ...args) : (message ?? ''));
    };
  return {
    trace: level('trace'),
    debug: level('debug'),
    info: level('info'),
    warn: level('warn'),
    error: level('error'),
    fatal: level('fatal'),
    child: (bindings) => protocolLogger(log.child(bindings)),
  };
}
