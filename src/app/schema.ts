// The store's schema version against this program's, for `postbote check` (read only: a check never
// changes the store) and `postbote migrate` (creates or upgrades it). Both backends: the SQLite file
// in the state folder, or the PostgreSQL database of a postgres:// state (connection and TLS included).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Config } from '../config/index.js';
import { PostboteError } from '../errors.js';
import { MIGRATIONS } from '../store/sqlite-migrations.js';

export interface SchemaStatus {
  /** 'postgres://pb:****@db/postbote' or the SQLite file. */
  where: string;
  /** The store's version now; 0 for a store not created yet. */
  current: number;
  /** The version this program writes. */
  latest: number;
  /** PostgreSQL: whether the connection is encrypted (sslmode in the URL). */
  tls?: boolean;
}

export function sqliteFile(config: Config): string {
  return join(resolve(config.state), 'postbote.sqlite');
}

/** Reads the version without writing anything (a SQLite file that does not exist stays absent). */
export async function schemaStatus(config: Config): Promise<SchemaStatus> {
  if (config.stateKind === 'postgres') return postgresStatus(config.state);
  const file = sqliteFile(config);
  const latest = MIGRATIONS.at(-1)?.version ?? 0;
  if (!existsSync(file)) return { where: file, current: 0, latest };
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'").get();
    const row = table
      ? (db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null })
      : undefined;
    return { where: file, current: row?.v ?? 0, latest };
  } catch (err) {
    throw new PostboteError('STORE', `cannot read the store ${file}: ${(err as Error).message}`, {
      temporary: false,
      hint: 'check that the state folder and postbote.sqlite are readable by this user',
    });
  } finally {
    db?.close();
  }
}

async function postgresStatus(url: string): Promise<SchemaStatus> {
  // The pg driver is loaded only for a PostgreSQL state.
  const [{ PgConnection }, { PG_MIGRATIONS }] = await Promise.all([
    import('../store/postgres-pool.js'),
    import('../store/postgres-migrations.js'),
  ]);
  const db = new PgConnection(url, 1);
  try {
    const [row] = await db.q<{ has: boolean; ssl: boolean | null }>(
      db.pool,
      `SELECT to_regclass('schema_migrations') IS NOT NULL AS has,
              (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl`,
    );
    const current = row?.has
      ? ((await db.q<{ v: number | null }>(db.pool, 'SELECT max(version) AS v FROM schema_migrations'))[0]
          ?.v ?? 0)
      : 0;
    return {
      where: db.where,
      current,
      latest: PG_MIGRATIONS.at(-1)?.version ?? 0,
      tls: row?.ssl === true,
    };
  } finally {
    await db.close();
  }
}

/** The refusal of a store newer than this program (the same words as the store's own migrate()). */
export function newerSchema(s: SchemaStatus): PostboteError {
  return new PostboteError(
    'STORE',
    `the store ${s.where} has schema version ${s.current}, newer than this Postbote (${s.latest})`,
    {
      temporary: false,
      hint: 'upgrade Postbote (every instance) to the version that wrote it, or restore a backup of the store',
    },
  );
}
