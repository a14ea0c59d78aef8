// A consistent copy of a state: the store and exactly the spool files its records name. Taken while
// nothing else changes the state: under the state's lock, or inside the running service (asked
// through its control socket), where passes go on while the files are copied.
//
// Why VACUUM INTO and hard links: the snapshot of the store and the set of spool files must match. In
// the service, a pass may deliver a message (and remove its spool file) at any moment between two
// awaits. `VACUUM INTO` writes a transactionally consistent copy of the database in one synchronous
// call (SQLite's online backup, db.backup(), works in steps between which the service's passes run),
// and the spool files it names are hard-linked in the same synchronous block, so no pass can commit or
// remove anything in between. The links (same file system as the spool) are then copied to the
// destination at leisure and removed.
import { copyFileSync, linkSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { PostboteError } from '../errors.js';

export const STORE_FILE = 'postbote.sqlite';
export const MANIFEST_FILE = 'postbote-backup.json';

export interface BackupResult {
  dir: string;
  records: number;
  files: number;
  /** Files a record names that were not in the spool (lost before the backup; the record is kept). */
  missing: number;
  bytes: number;
  schemaVersion: number;
}

/** Copies the state in `stateDir` into `dest`, which must be missing or empty. */
export async function backupState(stateDir: string, dest: string): Promise<BackupResult> {
  const state = resolve(stateDir);
  const target = resolve(dest);
  const source = join(state, STORE_FILE);
  try {
    statSync(source);
  } catch {
    throw new PostboteError('STORE', `no store in ${state} (${STORE_FILE} is missing)`, {
      temporary: false,
      hint: 'point -c at the configuration whose state: you want to back up',
    });
  }
  mkdirSync(target, { recursive: true });
  if (readdirSync(target).length > 0) {
    throw new PostboteError('CONFIG_INVALID', `backup folder ${target} is not empty`, {
      temporary: false,
      hint: 'give a new folder for each backup (e.g. /var/backups/postbote/$(date +%F))',
    });
  }
  const staging = join(state, `backup-staging-${process.pid}-${Date.now()}`);
  mkdirSync(join(staging, 'spool', 'msg'), { recursive: true });
  try {
    const snap = snapshot(source, join(state, 'spool', 'msg'), staging);
    await mkdir(join(target, 'spool', 'msg'), { recursive: true });
    await copyFile(join(staging, STORE_FILE), join(target, STORE_FILE));
    let bytes = 0;
    for (const key of await readdir(join(staging, 'spool', 'msg'))) {
      await copyFile(join(staging, 'spool', 'msg', key), join(target, 'spool', 'msg', key));
      bytes += statSync(join(target, 'spool', 'msg', key)).size;
    }
    const result: BackupResult = { dir: target, ...snap, bytes };
    writeFileSync(
      join(target, MANIFEST_FILE),
      `${JSON.stringify({ createdAt: new Date().toISOString(), ...result }, null, 2)}\n`,
    );
    return result;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The synchronous part: store snapshot and links to the spool files it names, with nothing in between. */
function snapshot(
  source: string,
  msgDir: string,
  staging: string,
): { records: number; files: number; missing: number; schemaVersion: number } {
  const copy = join(staging, STORE_FILE);
  const db = new Database(source, { fileMustExist: true });
  try {
    db.prepare('VACUUM INTO ?').run(copy);
  } finally {
    db.close();
  }
  const snap = new Database(copy, { readonly: true });
  try {
    const keys = snap
      .prepare('SELECT spool_key FROM messages WHERE spool_key IS NOT NULL')
      .pluck()
      .all() as string[];
    const records = snap.prepare('SELECT count(*) FROM messages').pluck().get() as number;
    const schemaVersion =
      (snap.prepare('SELECT max(version) FROM schema_migrations').pluck().get() as number) ?? 0;
    let files = 0;
    let missing = 0;
    for (const key of keys) {
      const from = join(msgDir, key);
      const to = join(staging, 'spool', 'msg', key);
      try {
        linkSync(from, to);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          missing++;
          continue;
        }
        if (code !== 'EPERM' && code !== 'EXDEV' && code !== 'ENOTSUP') throw err;
        copyFileSync(from, to); // a file system without hard links: a blocking copy keeps the guarantee
      }
      files++;
    }
    return { records, files, missing, schemaVersion };
  } finally {
    snap.close();
  }
}
