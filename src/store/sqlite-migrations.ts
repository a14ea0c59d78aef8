// Schema migrations for the SQLite store, applied in order on start; each runs once in a transaction.

import { PostboteError } from '../errors.js';
import type { SqliteConnection } from './sqlite-connection.js';

export const MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
      CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        mailbox TEXT NOT NULL,
        uid TEXT NOT NULL,
        state TEXT NOT NULL,
        spool_key TEXT,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        message_id TEXT,
        sender TEXT NOT NULL,
        subject TEXT,
        recipients TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        reason TEXT,
        fetched_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        source_removed_at INTEGER,
        UNIQUE (mailbox, uid)
      );
      CREATE INDEX messages_pending ON messages (state, next_attempt_at) WHERE state IN ('spooled','deferred');
      CREATE INDEX messages_fetched ON messages (fetched_at);
      CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        message INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT NOT NULL,
        recipients TEXT NOT NULL
      );
      CREATE INDEX attempts_message ON attempts (message);
      CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        mailbox TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER NOT NULL,
        listed INTEGER NOT NULL,
        fetched INTEGER NOT NULL,
        delivered INTEGER NOT NULL,
        deferred INTEGER NOT NULL,
        quarantined INTEGER NOT NULL,
        removed INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        error TEXT
      );
      CREATE INDEX sessions_mailbox ON sessions (mailbox, started_at);
    `,
  },
  {
    // Duplicate suppression (catch-all): one row per routed recipient of a message, and the routing
    // explanation of each message. 'duplicate' is a new messages.state value (the column has no CHECK).
    // No foreign key: a record forgotten in keep mode must still count as seen within the window.
    version: 2,
    sql: `
      ALTER TABLE messages ADD COLUMN fingerprint TEXT;
      ALTER TABLE messages ADD COLUMN explanation TEXT;
      CREATE TABLE routed (
        id INTEGER PRIMARY KEY,
        message INTEGER NOT NULL,
        fingerprint TEXT NOT NULL,
        recipient TEXT NOT NULL,
        at INTEGER NOT NULL
      );
      CREATE INDEX routed_lookup ON routed (fingerprint, recipient, at);
    `,
  },
  {
    // A message's identity at the source is its UID *and* its fingerprint: servers reuse UIDs (after a
    // deletion, or hash-based for equal content) and some list one UID twice. So (mailbox, uid) is no
    // longer unique: the table is rebuilt without that constraint (SQLite cannot drop one in place;
    // migrate() runs this with foreign keys off, so the attempts rows stay). New columns:
    // source_size (LIST size when it was fetched), header_digest (of its header block, compared with
    // TOP n 0), detached_at (the UID no longer designates this record at the source: vanished from a
    // listing, or reused for another message; the record stays for the log and, if pending, delivery).
    // read_failures counts failed reads of a message that could not be fetched, across passes.
    version: 3,
    sql: `
      CREATE TABLE messages_v3 (
        id INTEGER PRIMARY KEY,
        mailbox TEXT NOT NULL,
        uid TEXT NOT NULL,
        state TEXT NOT NULL,
        spool_key TEXT,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        message_id TEXT,
        sender TEXT NOT NULL,
        subject TEXT,
        recipients TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        reason TEXT,
        fetched_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        source_removed_at INTEGER,
        fingerprint TEXT,
        explanation TEXT,
        source_size INTEGER,
        header_digest TEXT,
        detached_at INTEGER
      );
      INSERT INTO messages_v3 (id, mailbox, uid, state, spool_key, size, sha256, message_id, sender, subject,
          recipients, attempts, next_attempt_at, reason, fetched_at, updated_at, source_removed_at, fingerprint,
          explanation)
        SELECT id, mailbox, uid, state, spool_key, size, sha256, message_id, sender, subject, recipients,
          attempts, next_attempt_at, reason, fetched_at, updated_at, source_removed_at, fingerprint, explanation
        FROM messages;
      DROP TABLE messages;
      ALTER TABLE messages_v3 RENAME TO messages;
      CREATE INDEX messages_source ON messages (mailbox, uid) WHERE detached_at IS NULL;
      CREATE INDEX messages_pending ON messages (state, next_attempt_at) WHERE state IN ('spooled','deferred');
      CREATE INDEX messages_fetched ON messages (fetched_at);
      CREATE TABLE read_failures (
        mailbox TEXT NOT NULL,
        uid TEXT NOT NULL,
        size INTEGER NOT NULL,
        count INTEGER NOT NULL,
        last_error TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (mailbox, uid, size)
      );
    `,
  },
  {
    // IMAP: source_date is the message's
    // INTERNALDATE when it was fetched: with Message-ID and size it recognises a message whose folder got
    // a new UIDVALIDITY (recreated, migrated), whose uid is then updated instead of delivering it again.
    version: 4,
    sql: `ALTER TABLE messages ADD COLUMN source_date INTEGER;`,
  },
  {
    // The spam/virus filter's verdict (src/filters/types.ts FilterVerdict as JSON): scanner results, the
    // action and the header edits delivery applies. NULL: not filtered (no filter configured, or not yet).
    version: 5,
    sql: `ALTER TABLE messages ADD COLUMN filter TEXT;`,
  },
];

/** Applies the migrations the database lacks, each in its own transaction. */
export function applyMigrations(conn: SqliteConnection): void {
  const db = conn.db;
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER)');
  const row = conn.sql('SELECT max(version) AS v FROM schema_migrations').get() as {
    v: number | null;
  };
  const current = row.v ?? 0;
  const latest = MIGRATIONS.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new PostboteError(
      'STORE',
      `the store has schema version ${current}, newer than this Postbote (${latest})`,
      {
        temporary: false,
        hint: 'upgrade Postbote, or point state: at another folder',
      },
    );
  }
  if (current === latest) return;
  // A migration may rebuild a table (SQLite's documented way to drop a constraint). With foreign keys
  // on, dropping the old table would cascade into its children; they are switched off around the
  // migrations (the pragma has no effect inside a transaction) and checked before each commit.
  db.pragma('foreign_keys = OFF');
  try {
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      db.transaction(() => {
        db.exec(m.sql);
        const broken = db.pragma('foreign_key_check') as unknown[];
        if (broken.length > 0) {
          throw new PostboteError('STORE', `migration ${m.version} broke ${broken.length} references`, {
            temporary: false,
          });
        }
        conn.sql('INSERT INTO schema_migrations VALUES (?, ?)').run(m.version, Date.now());
      })();
    }
  } finally {
    db.pragma('foreign_keys = ON');
  }
}
