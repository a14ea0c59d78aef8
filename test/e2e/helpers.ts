// Shared pieces of the end-to-end suites: run the real CLI, write configurations, read results.
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'src/cli/main.ts');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `postbote ARGS` as its own process (through tsx), as a user would, with its PID known before it ends. */
export function startCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; pid: number; result: Promise<CliResult> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, POSTBOTE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const result = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, pid: child.pid!, result };
}

/** Runs `postbote ARGS` to its end. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return startCli(args, env).result;
}

export async function writeConfig(dir: string, yaml: string): Promise<string> {
  const file = join(dir, 'postbote.yaml');
  await writeFile(file, yaml);
  return file;
}

/** Removes the Received header Postbote prepends, so the rest can be compared byte for byte. */
export function stripOwnReceived(raw: Buffer): Buffer {
  const text = raw.toString('latin1');
  const m = /^Received: from [^\r\n]*\r\n(?:\t[^\r\n]*\r\n)*/.exec(text);
  const header = m?.[0];
  if (!header?.includes('(Postbote)')) throw new Error('message has no Postbote Received header on top');
  return raw.subarray(header.length);
}

/** What a correct SMTP hop makes of a message: every line ending CRLF (bare LF repaired). */
export function toCrlf(raw: Buffer): Buffer {
  const s = raw.toString('latin1').replace(/\r?\n/g, '\r\n');
  return Buffer.from(s.endsWith('\r\n') ? s : `${s}\r\n`, 'latin1');
}

export function messageId(raw: Buffer): string | undefined {
  const head = raw.subarray(0, 65536).toString('latin1');
  return /^Message-ID:\s*(<[^>]*>)/im.exec(head)?.[1];
}
