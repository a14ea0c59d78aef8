// `postbote migrate`: creates or upgrades the store's schema to this program's version and says from
// which to which. Safe while instances run on a PostgreSQL state (the migrations take the advisory
// lock an instance starting at the same moment would wait for); a folder state is migrated under the
// state's lock, so never under a running service. A store newer than this program is refused.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { newerSchema, type SchemaStatus, schemaStatus, sqliteFile } from '../app/schema.js';
import { StateLock } from '../app/state-lock.js';
import type { Config } from '../config/index.js';
import { sayWaiting, setup, waitMs } from './setup.js';

export async function migrateCommand(o: { config: string; wait?: string; json?: boolean }): Promise<void> {
  const { config, logger } = setup(o.config, true);
  const before = await schemaStatus(config);
  if (before.current > before.latest) throw newerSchema(before);
  if (before.current < before.latest)
    await migrate(config, o.wait, (holder) => sayWaiting(logger, true, o.wait)(holder));
  const after = await schemaStatus(config);
  report(before, after, o.json === true);
}

async function migrate(
  config: Config,
  wait: string | undefined,
  onWait: (holder: string) => void,
): Promise<void> {
  if (config.stateKind === 'postgres') {
    const { PostgresStore } = await import('../store/postgres.js');
    const store = new PostgresStore(config.state);
    try {
      await store.migrate();
    } finally {
      await store.close();
    }
    return;
  }
  const dir = resolve(config.state);
  mkdirSync(dir, { recursive: true });
  const lock = await StateLock.acquire(dir, { command: 'postbote migrate', waitMs: waitMs(wait), onWait });
  const { SqliteStore } = await import('../store/sqlite.js');
  const store = new SqliteStore(sqliteFile(config));
  try {
    await store.migrate();
  } finally {
    await store.close();
    lock.release();
  }
}

function report(before: SchemaStatus, after: SchemaStatus, json: boolean): void {
  if (json) {
    console.log(
      JSON.stringify({ where: after.where, from: before.current, to: after.current, latest: after.latest }),
    );
  } else if (before.current === after.current) {
    console.log(`${after.where}: schema version ${after.current}, this Postbote's; nothing to do`);
  } else {
    console.log(`${after.where}: schema version ${before.current} → ${after.current}`);
  }
}
