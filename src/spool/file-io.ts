// File writes of the spool: whole, with short writes finished, and fsync by path.
import { closeSync, openSync, writeSync, writevSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

export async function fsync(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A whole small file at once: open (it must not exist), gathered write, close, on the calling thread. */
export function writeSmallSync(path: string, chunks: Buffer[]): void {
  const fd = openSync(path, 'wx');
  try {
    const total = chunks.reduce((n, c) => n + c.length, 0);
    const written = chunks.length > 0 ? writevSync(fd, chunks) : 0;
    if (written === total) return;
    // A short write (rare on local files): the rest goes out from where it stopped.
    let rest = Buffer.concat(chunks).subarray(written);
    while (rest.length > 0) rest = rest.subarray(writeSync(fd, rest));
  } finally {
    closeSync(fd);
  }
}

export async function writeAll(fh: FileHandle, chunks: Buffer[]): Promise<void> {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const { bytesWritten } = await fh.writev(chunks);
  if (bytesWritten === total) return;
  // A short write (rare on local files): the rest goes out from where it stopped.
  let rest = Buffer.concat(chunks).subarray(bytesWritten);
  while (rest.length > 0) rest = rest.subarray((await fh.write(rest)).bytesWritten);
}
