// fetchmail as the baseline: an rc file per run (POP3S or IMAPS with certificate check, delete after delivery,
// delivery by SMTP to the sink), stock or with TCP_NODELAY forced by the LD_PRELOAD shim in nodelay.c.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Measured, measure } from './measure.js';

const FETCHMAIL = '/usr/bin/fetchmail';

export interface FetchmailBox {
  user: string;
  password: string;
}

export interface FetchmailRun {
  home: string;
  host: string;
  port: number;
  caFile: string;
  boxes: FetchmailBox[];
  sinkPort: number;
  /** Messages per mailbox and run (fetchmail's fetchlimit): keeps stock fetchmail's runs short. */
  limit?: number;
  nodelay?: string;
  /** Default pop3; imap marks each message \Deleted and expunges, as fetchmail does by default. */
  proto?: 'pop3' | 'imap';
}

/** Compiles the TCP_NODELAY shim (once) and returns the .so path. */
export function buildNodelayShim(outDir: string): string {
  const src = path.join(import.meta.dirname, 'nodelay.c');
  const so = path.join(outDir, 'nodelay.so');
  if (!existsSync(so) || statSync(so).mtimeMs < statSync(src).mtimeMs) {
    mkdirSync(outDir, { recursive: true });
    execFileSync('gcc', ['-O2', '-shared', '-fPIC', '-o', so, src, '-ldl']);
  }
  return so;
}

export function fetchmailRc(r: FetchmailRun): string {
  const lines = ['set no bouncemail', 'set no syslog', 'set postmaster "postmaster"', ''];
  // One poll entry for the server, one user clause per mailbox: fetchmail polls them in turn.
  // uidl is POP3's own (remembering what was seen); IMAP has UIDs and flags of its own.
  const proto = r.proto === 'imap' ? 'proto imap' : 'proto pop3 uidl';
  lines.push(`poll ${r.host} port ${r.port} ${proto} timeout 300`);
  for (const box of r.boxes) {
    lines.push(
      `  user "${box.user}" there with password "${box.password}" is "bench" here`,
      `    ssl sslcertck sslcertfile "${r.caFile}" sslcommonname localhost`,
      `    smtphost 127.0.0.1/${r.sinkPort} smtpaddress sink.example`,
      `    fetchall nokeep norewrite limit 0${r.limit ? ` fetchlimit ${r.limit}` : ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export async function runFetchmail(r: FetchmailRun): Promise<Measured> {
  rmSync(r.home, { recursive: true, force: true });
  mkdirSync(r.home, { recursive: true });
  const rc = path.join(r.home, 'fetchmailrc');
  writeFileSync(rc, fetchmailRc(r), { mode: 0o600 });
  const env: NodeJS.ProcessEnv = { ...process.env, FETCHMAILHOME: r.home, LC_ALL: 'C' };
  if (r.nodelay) env.LD_PRELOAD = r.nodelay;
  const argv = [FETCHMAIL, '-f', rc, '--nodetach', '--nosyslog', '-i', path.join(r.home, 'ids')];
  return measure(argv, env);
}
