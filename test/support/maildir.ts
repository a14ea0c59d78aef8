// Reads and writes a test user's Maildir directly, behind Dovecot's back: seeding messages fast and
// checking what is left after a fetch (count, exact bytes).
import { readdirSync, readFileSync } from 'node:fs';
import { chown, mkdir, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

// Files written concurrently while seeding: enough to hide syscall latency, few enough for ulimit -n.
const SEED_CONCURRENCY = 64;

let sequence = 0;

/** Creates Maildir/{cur,new,tmp} owned by the mail user. */
export async function createMaildir(maildir: string, uid: number, gid: number): Promise<void> {
  const home = path.dirname(maildir);
  for (const dir of [home, maildir, ...['cur', 'new', 'tmp'].map((d) => path.join(maildir, d))]) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chown(dir, uid, gid);
  }
}

/**
 * Delivers messages the Maildir way (write into tmp/, rename into new/) so Dovecot never sees a
 * half-written file. Names sort in seeding order, so `readMessages` returns them in that order.
 */
export async function seedMaildir(
  maildir: string,
  messages: Buffer[],
  uid: number,
  gid: number,
): Promise<void> {
  const host = os.hostname().replace(/[/:]/g, '_');
  const now = Math.floor(Date.now() / 1000);
  const names = messages.map(() => `${now}.P${process.pid}Q${String(sequence++).padStart(9, '0')}.${host}`);
  for (let start = 0; start < messages.length; start += SEED_CONCURRENCY) {
    const batch = messages.slice(start, start + SEED_CONCURRENCY);
    await Promise.all(
      batch.map(async (data, i) => {
        const name = names[start + i]!;
        const tmp = path.join(maildir, 'tmp', name);
        await writeFile(tmp, data, { mode: 0o600 });
        await chown(tmp, uid, gid);
        await rename(tmp, path.join(maildir, 'new', name));
      }),
    );
  }
}

/** File names (with their sub-directory) of the messages present, without those flagged deleted (T). */
export function listMessages(maildir: string, withDeleted = false): string[] {
  const files: string[] = [];
  for (const sub of ['new', 'cur']) {
    let names: string[];
    try {
      names = readdirSync(path.join(maildir, sub));
    } catch {
      continue;
    }
    for (const name of names) {
      if (name.startsWith('.') || (!withDeleted && isFlaggedDeleted(name))) continue;
      files.push(path.join(sub, name));
    }
  }
  // By base name (the part before ":2,"), which is delivery order for seeded messages.
  return files.sort((a, b) => {
    const x = baseName(a);
    const y = baseName(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

export function readMessages(maildir: string): Buffer[] {
  const out: Buffer[] = [];
  for (const file of listMessages(maildir)) {
    try {
      out.push(readFileSync(path.join(maildir, file)));
    } catch {
      // Dovecot moved it from new/ to cur/ (or expunged it) between listing and reading.
      const again = listMessages(maildir).find((f) => baseName(f) === baseName(file));
      if (again) out.push(readFileSync(path.join(maildir, again)));
    }
  }
  return out;
}

function baseName(file: string): string {
  const name = path.basename(file);
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(0, colon);
}

function isFlaggedDeleted(name: string): boolean {
  const info = name.indexOf(':2,');
  return info >= 0 && name.slice(info + 3).includes('T');
}
