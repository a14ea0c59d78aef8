// The one pino logger. Components take a Logger and make children: logger.child({ component: 'pop3', mailbox }).
// Lines carry level names, each key once, as JSON (for journald/Loki) or as text (for a person at a
// terminal); with log.file they go to a file that SIGHUP reopens after logrotate moved it.
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

/**
 * Longest value from outside (user name, header, subject) a log line carries: enough to recognise a
 * subject or an address, bounded so a hostile 1 MB header cannot flood the log.
 */
export const MAX_LOG_VALUE = 200;

export type LogFormat = 'text' | 'json';

export interface LogOptions {
  level?: string;
  /** Write to this file descriptor (default 2, stderr, so CLI output on stdout stays clean). */
  fd?: number;
  /** Append to this file instead (created if missing); reopenLog() reopens it after a rotation. */
  file?: string;
  /** Default: text when writing to a terminal, JSON otherwise (a file, journald, a pipe). */
  format?: LogFormat;
}

interface Sink {
  write(line: string): void;
  flush?(cb?: (err?: Error) => void): void;
  flushSync?(): void;
}

/** The destinations of loggers that write to a file, so SIGHUP can reopen them. */
const files = new WeakMap<Logger, { reopen(): void }>();

export function createLogger(options: LogOptions = {}): Logger {
  const fd = options.fd ?? 2;
  const dest = options.file
    ? pino.destination({ dest: options.file, append: true, mkdir: true, sync: false })
    : pino.destination({ fd, sync: false });
  const tty = !options.file && (fd === 2 ? process.stderr.isTTY : fd === 1 ? process.stdout.isTTY : false);
  const format = options.format ?? (tty ? 'text' : 'json');
  const logger = pino(
    {
      level: options.level ?? process.env.POSTBOTE_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT, censor: '****' },
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    lineSink(dest, format),
  );
  if (options.file) files.set(logger, dest);
  return logger;
}

/** Reopens the logger's file (after logrotate renamed it); nothing to do when it writes to stderr. */
export function reopenLog(logger: Logger): void {
  files.get(logger)?.reopen();
}

/**
 * Rewrites each pino line: JSON.parse keeps the last of duplicate keys (a child's binding repeated in
 * the call, `mailbox` twice), so every key appears once; then JSON or text.
 */
function lineSink(dest: Required<Sink>, format: LogFormat): Sink {
  return {
    write(line: string) {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        dest.write(line);
        return;
      }
      dest.write(format === 'text' ? `${textLine(entry)}\n` : `${JSON.stringify(entry)}\n`);
    },
    flush: (cb) => dest.flush(cb),
    flushSync: () => dest.flushSync(),
  };
}

/** `2026-01-05T10:00:00.000Z INFO  message  key=value …`: the message first, fields after it. */
export function textLine(entry: Record<string, unknown>): string {
  const { time, level, msg, ...fields } = entry;
  const parts = [
    String(time ?? ''),
    String(level ?? '')
      .toUpperCase()
      .padEnd(5),
    String(msg ?? ''),
  ];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    parts.push(`${key}=${/^[^\s"=]+$/.test(text) ? text : JSON.stringify(text)}`);
  }
  return parts.join(' ');
}

/**
 * A value from outside for a log line: control characters escaped (no forged lines, no terminal
 * escapes), cut to `max` characters with the original length said.
 */
export function clip(value: string | null | undefined, max = MAX_LOG_VALUE): string {
  if (value === null || value === undefined) return '';
  const cut = value.length > max ? value.slice(0, max) : value;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is escaped
  const safe = cut.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return code > 0xff
      ? `\\u${code.toString(16).padStart(4, '0')}`
      : `\\x${code.toString(16).padStart(2, '0')}`;
  });
  return value.length > max ? `${safe}… (${value.length} chars)` : safe;
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
