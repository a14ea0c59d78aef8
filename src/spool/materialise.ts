// A shared copy written into this spool (Spool.materialise): through tmp/, so a half-written file is
// never in msg/, and kept only when its size and SHA-256 are the record's.
import { createHash, randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAll } from './file-io.js';
import type { HeldMessages } from './held.js';
import type { BytesExpectation } from './shared-bytes.js';

/** Spool.materialise(): `held` is the spool's, which forgets a copy in memory once the file is there. */
export async function materialiseInto(
  dir: string,
  key: string,
  expect: BytesExpectation,
  chunks: AsyncIterable<Buffer>,
  held: HeldMessages,
): Promise<boolean> {
  const tmp = join(dir, 'tmp', `${key}.${randomBytes(4).toString('hex')}`);
  const hash = createHash('sha256');
  let size = 0;
  const fh = await open(tmp, 'wx');
  let ok = false;
  try {
    for await (const chunk of chunks) {
      size += chunk.length;
      if (size > expect.size) break; // longer than recorded: damaged, stop reading
      hash.update(chunk);
      await writeAll(fh, [chunk]);
    }
    ok = size === expect.size && hash.digest('hex') === expect.sha256;
  } finally {
    await fh.close();
    if (!ok) await rm(tmp, { force: true });
  }
  if (!ok) return false;
  await rename(tmp, join(dir, 'msg', key));
  held.delete(key);
  return true;
}
