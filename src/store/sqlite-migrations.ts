// Schema migrations for the SQLite store, applied in order on start; each runs once in a transaction.

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
];
