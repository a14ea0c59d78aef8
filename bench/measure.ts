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
  /** CPU seconds the whole machine was busy meanwhile (Dovecot, the sink and the kernel included). */
  machineCpu: number;
  exitCode: number;
  output: string;
}

// /proc/stat counts in USER_HZ, 100 on every mainstream kernel configuration.
const TICKS_PER_SECOND = 100;

/** Busy CPU seconds of the whole machine since boot: all time but idle and iowait. */
export function machineBusy(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - (cpu[3] ?? 0) - (cpu[4] ?? 0)) / TICKS_PER_SECOND;
}

const TIME = '/usr/bin/time';

export async function measure(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  cwd?: string,
): Promise<Measured> {
  const out = path.join(os.tmpdir(), `bench-time-${process.pid}-${Date.now()}`);
  const started = process.hrtime.bigint();
  const busy0 = machineBusy();
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
  const machineCpu = machineBusy() - busy0;
  const fields = readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  rmSync(out, { force: true });
  const [user = 0, sys = 0, rssKb = 0] = fields;
  return { seconds, cpu: user + sys, peakRssMb: rssKb / 1024, machineCpu, exitCode, output };
}
