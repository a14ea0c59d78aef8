// The one pino logger. Components take a Logger and make children: logger.child({ component: 'pop3', mailbox }).
import { pino } from 'pino';

export type Logger = pino.Logger;

/** Keys that never reach a log line, wherever they sit in a logged object. */
const REDACT = [
  'password',
  'pass',
  'secret',
  'token',
  'accessToken',
  '*.password',
  '*.pass',
  '*.secret',
  '*.token',
  '*.accessToken',
  '*.*.password',
  'auth.pass',
];

export interface LogOptions {
  level?: string;
  /** Write to this file descriptor (default 2, stderr, so CLI output on stdout stays clean). */
  fd?: number;
}

export function createLogger(options: LogOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.POSTBOTE_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT, censor: '****' },
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ fd: options.fd ?? 2, sync: false }),
  );
}

/** A logger that writes nothing, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Masks the argument of commands that carry secrets before they are logged or shown. */
export function maskCommand(line: string): string {
  const m = /^(PASS|APOP|AUTH\s+\S+|AUTH|LOGIN)(\s+)(.*)$/i.exec(line);
  if (!m) return line;
  const verb = m[1]!.toUpperCase();
  if (verb === 'APOP') {
    const user = m[3]!.split(' ')[0];
    return `APOP ${user} ****`;
  }
  return `${m[1]}${m[2]}****`;
}
