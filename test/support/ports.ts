// Small network and filesystem helpers for test harnesses: free loopback ports, waiting for a
// listener to come up, and private temporary directories.
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

// Between two connection attempts while a server starts: short, Dovecot is usually up in ~100 ms.
const CONNECT_RETRY_MS = 25;

/**
 * Reserves `count` distinct free TCP ports on `host` by binding port 0 for all of them at once
 * (so no two are equal), then releases them for the caller's server to bind. Another process
 * may still grab one in between; callers that start an external server retry on EADDRINUSE.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port: 0, host, exclusive: true }, () => resolve());
      });
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  return port!;
}

/** Resolves once a TCP connection to host:port succeeds; rejects after `timeoutMs`. */
export async function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      await tryConnect(port, host, Math.max(50, deadline - Date.now()));
      return;
    } catch (err) {
      lastError = err;
      await delay(CONNECT_RETRY_MS);
    }
  }
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms (${reason})`);
}

function tryConnect(port: number, host: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host });
    socket.setTimeout(timeoutMs);
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error('connect timed out'));
    });
    socket.once('error', (err) => {
      socket.destroy();
      reject(err);
    });
  });
}

export interface TempDir {
  path: string;
  remove(): Promise<void>;
}

/** A fresh private directory under os.tmpdir(); `remove()` deletes it and everything in it. */
export async function makeTempDir(prefix: string): Promise<TempDir> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix.endsWith('-') ? prefix : `${prefix}-`));
  // Retries: a server stopped a moment ago (Dovecot's children) may still be writing into the folder,
  // and removing it then fails with ENOTEMPTY.
  return {
    path: dir,
    remove: () => rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }),
  };
}
