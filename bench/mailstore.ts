// The private Dovecot the benchmarks fetch from, with a pristine copy of each mailbox's messages
// that is hard-linked back into the Maildir before every run (Dovecot renames and unlinks mail files,
// never rewrites them, so thousands of messages are reseeded in well under a second).
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Dovecot, startDovecot } from '../test/support/dovecot.js';
import type { BenchMessage } from './corpus.js';
import { findProcess, treeCpuSeconds } from './proc.js';

export class MailStore {
  private masterPid: number | undefined;

  private constructor(
    readonly dovecot: Dovecot,
    private readonly owner: { uid: number; gid: number },
  ) {}

  /**
   * `loginMode: 'performance'` runs Dovecot's login processes the way busy providers do (long-lived,
   * so TLS session tickets resume); 'secure' is Dovecot's default (a process per connection).
   */
  static async start(users: string[], loginMode: 'secure' | 'performance'): Promise<MailStore> {
    const dovecot = await startDovecot({
      users,
      name: `bench-${loginMode}`,
      password: 'bench-secret',
      loginMode,
    });
    const st = statSync(dovecot.maildir(users[0]!));
    return new MailStore(dovecot, { uid: st.uid, gid: st.gid });
  }

  private pristine(user: string): string {
    return path.join(path.dirname(this.dovecot.maildir(user)), 'pristine');
  }

  /**
   * Writes the messages once as the pristine copy of `user`'s mailbox. File names carry S= and W=
   * (size and CRLF size, equal here) the way Dovecot's own delivery names them, so LIST needs no read.
   */
  setMessages(user: string, messages: BenchMessage[]): void {
    const dir = this.pristine(user);
    rmSync(dir, { recursive: true, force: true });
    // `cp -a dir/. new/` gives new/ this folder's owner and mode: it must be the mail user's.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chownSync(dir, this.owner.uid, this.owner.gid);
    messages.forEach((m, i) => {
      const name = `1700000000.M${String(i).padStart(6, '0')}P1.bench,S=${m.data.length},W=${m.data.length}`;
      const file = path.join(dir, name);
      writeFileSync(file, m.data);
      chownSync(file, this.owner.uid, this.owner.gid);
    });
  }

  /** Empties the Maildir (and Dovecot's index for it) and links the pristine copy into new/. */
  reseed(user: string): void {
    this.empty(user);
    this.deliver(user);
  }

  /** Empties the Maildir and removes Dovecot's index for it, as if the mailbox were new. */
  empty(user: string): void {
    const maildir = this.dovecot.maildir(user);
    for (const sub of ['new', 'cur']) {
      const dir = path.join(maildir, sub);
      for (const f of readdirSync(dir)) rmSync(path.join(dir, f), { force: true });
    }
    for (const f of readdirSync(maildir)) {
      if (f.startsWith('dovecot')) rmSync(path.join(maildir, f), { recursive: true, force: true });
    }
  }

  /** Links the pristine copy into new/: new mail as an MDA leaves it, also while clients are logged in. */
  deliver(user: string): void {
    const src = this.pristine(user);
    const maildir = this.dovecot.maildir(user);
    if (readdirSync(src).length > 0) execFileSync('cp', ['-al', `${src}/.`, path.join(maildir, 'new')]);
  }

  /** CPU seconds Dovecot (master, login, pop3, auth processes) used since it started. */
  cpu(): number {
    this.masterPid ??= findProcess(/dovecot$/, path.join(path.dirname(this.dovecot.caFile), 'dovecot.conf'));
    return this.masterPid === undefined ? Number.NaN : treeCpuSeconds(this.masterPid);
  }

  pristineFiles(user: string): string[] {
    const dir = this.pristine(user);
    return readdirSync(dir).map((f) => path.join(dir, f));
  }

  /** Messages still in the mailbox (0 after a run that deleted everything it delivered). */
  left(user: string): number {
    return this.dovecot.count(user);
  }

  stop(): Promise<void> {
    return this.dovecot.stop();
  }
}
