// Postbote as users run it: the built CLI (`node dist/cli/main.js fetch|run -c FILE`) with a generated
// configuration (POP3S or IMAPS with the bench CA, durable state in a fresh folder, delivery to the
// sink, optionally with scanners in front of it).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Measured, measure } from './measure.js';

/** BENCH_CLI names another build of the CLI (an A/B run against a copy of dist/ beside it). */
export const CLI = process.env.BENCH_CLI ?? path.join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

export interface PostboteBox {
  name: string;
  user: string;
  password: string;
}

export interface PostboteSetup {
  dir: string;
  host: string;
  port: number;
  caFile: string;
  boxes: PostboteBox[];
  sinkPort: number;
  /**
   * Mailboxes in parallel; perHostConnections is raised to the same (the default would serialise).
   * Unset: the scheduler's shipped defaults, as an admin's configuration without a scheduler section.
   */
  concurrency?: number;
  /** target.maxConnections; unset: the shipped default. */
  targetConnections?: number;
  interval?: string;
  /** The mailboxes' protocol (each over implicit TLS); default pop3. */
  protocol?: 'pop3' | 'imap';
  /** A global `filters:` section with these private scanners, as shipped otherwise (defaults). */
  filters?: { rspamdPort: number; clamdPort: number };
  /** A postgres:// state (the spool then goes to `dir`/spool); default: a state folder in `dir`. */
  postgres?: { url: string; instance: string; leaseTtl?: string };
  /** target.helo, also the `by` of the Received field: tells in the sink which instance delivered. */
  helo?: string;
}

/** Writes state/, the password file and postbote.yaml into `dir`; returns the config path. */
export function writeConfig(s: PostboteSetup): string {
  rmSync(s.dir, { recursive: true, force: true });
  mkdirSync(s.dir, { recursive: true });
  const state = s.postgres
    ? [`state: ${s.postgres.url}`, `spool: ${path.join(s.dir, 'spool')}`, `instance: ${s.postgres.instance}`]
    : [`state: ${path.join(s.dir, 'state')}`];
  const lines = [
    ...state,
    'log:',
    '  level: warn',
    'target:',
    '  host: 127.0.0.1',
    `  port: ${s.sinkPort}`,
    '  tls: none',
    `  helo: ${s.helo ?? 'postbote.bench.example'}`,
    ...(s.targetConnections === undefined ? [] : [`  maxConnections: ${s.targetConnections}`]),
    'delivery:',
    '  maxMessageSize: 1GB',
    'scheduler:',
    ...(s.concurrency === undefined
      ? []
      : [`  concurrency: ${s.concurrency}`, `  perHostConnections: ${s.concurrency}`]),
    `  interval: ${s.interval ?? '5m'}`,
    ...(s.postgres?.leaseTtl ? [`  leaseTtl: ${s.postgres.leaseTtl}`] : []),
  ];
  if (s.filters) {
    lines.push(
      'filters:',
      '  scanners:',
      `    - { type: rspamd, host: 127.0.0.1, port: ${s.filters.rspamdPort} }`,
      `    - { type: clamd, host: 127.0.0.1, port: ${s.filters.clamdPort} }`,
      // Tag only: a subject prefix would change the bytes the sink compares (the added X-Spam-* and
      // X-Virus-Status fields go above the message, outside the comparison).
      '  spam: { action: tag }',
    );
  }
  lines.push('mailboxes:');
  for (const b of s.boxes) {
    lines.push(
      `  - name: ${b.name}`,
      `    protocol: ${s.protocol ?? 'pop3'}`,
      `    host: ${s.host}`,
      `    port: ${s.port}`,
      '    tls: tls',
      `    ca: ${s.caFile}`,
      `    user: ${b.user}`,
      `    password: ${b.password}`,
      '    deliverTo: [bench@sink.example]',
    );
  }
  const file = path.join(s.dir, 'postbote.yaml');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** BENCH_WRAP (e.g. "strace -c -f -o FILE") is put in front of the command, for profiling. */
export function runPostboteFetch(config: string, nodeFlags: string[] = []): Promise<Measured> {
  const wrap = process.env.BENCH_WRAP?.split(' ').filter(Boolean) ?? [];
  return measure([...wrap, process.execPath, ...nodeFlags, CLI, 'fetch', '-c', config]);
}
