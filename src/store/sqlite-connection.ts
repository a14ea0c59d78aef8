// The SQLite store's connection: the database file opened in WAL mode with its pragmas, statements
// prepared once per text, and the synchronous commit that makes every earlier one durable.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { PostboteError } from '../errors.js';

export class SqliteConnection {
  readonly db: Database.Database;
  /** Prepared once, reused: compiling a statement costs more than running it. */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(readonly file: string) {
    try {
      if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
      this.db = new Database(file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.limitWal();
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('busy_timeout = 5000');
    } catch (err) {
      throw new PostboteError('STORE', `cannot open the store ${file}: ${(err as Error).message}`, {
        temporary: false,
        cause: err,
        hint: 'check that the state folder exists and is writable',
      });
    }
  }

  private limitWal(): void {
    // A checkpoint runs inside the commit that crosses the limit, on this (the only) thread, with two
    // fsyncs: at SQLite's default of 1000 pages that was every ~80 messages. 10000 pages (~40 MB of
    // WAL) makes it ten times rarer; journal_size_limit gives the space back after one.
    this.db.pragma('wal_autocheckpoint = 10000');
    this.db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
  }

  /** A transaction function made on first use, then reused for every call. */
  lazyTransaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
    let tx: Database.Transaction<(...args: A) => R> | undefined;
    return (...args: A) => {
      tx ??= this.db.transaction(fn);
      return tx(...args);
    };
  }

  sql(text: string): Database.Statement {
    let stmt = this.statements.get(text);
    if (!stmt) {
      stmt = this.db.prepare(text);
      this.statements.set(text, stmt);
    }
    return stmt;
  }

  /** One commit under synchronous=FULL: it fsyncs the WAL, and with it every transaction before it. */
  syncCommit(): void {
    this.db.pragma('synchronous = FULL');
    try {
      const v = this.db.pragma('user_version', { simple: true }) as number;
      this.db.pragma(`user_version = ${(v + 1) % 2 ** 30}`);
    } finally {
      this.db.pragma('synchronous = NORMAL');
      this.limitWal();
    }
  }
}
