// Runs one command under GNU time: wall-clock seconds, CPU seconds (user + system, the process and
// the children it waited for) and peak resident set size (the kernel's maxrss, i.e. VmHWM).
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Measured {
  seconds: number;
  cpu: number;
  peakRssMb: number;
  exitCode: number;
  output: string;
}

const TIME = '/usr/bin/time';

export async function measure(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  cwd?: string,
): Promise<Measured> {
  const out = path.join(os.tmpdir(), `bench-time-${process.pid}-${Date.now()}`);
  const started = process.hrtime.bigint();
  const child = spawn(TIME, ['-f', '%U %S %M', '-o', out, ...argv], {
    env,
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const exitCode = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code ?? -1));
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const fields = readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  rmSync(out, { force: true });
  const [user = 0, sys = 0, rssKb = 0] = fields;
  return { seconds, cpu: user + sys, peakRssMb: rssKb / 1024, exitCode, output };
}
