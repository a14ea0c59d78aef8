// CPU time and memory of running processes from /proc: for processes the bench does not wait for
// under GNU time (`postbote run` until SIGTERM, the PostgreSQL server and its backends).
import { readdirSync, readFileSync } from 'node:fs';

// Linux reports utime/stime in clock ticks; USER_HZ is 100 on every mainstream kernel config.
const TICKS_PER_SECOND = 100;

interface Stat {
  ppid: number;
  /** utime and stime of the process (or thread) itself, apart and summed. */
  user: number;
  system: number;
  own: number;
  /** cutime + cstime: its children that exited and were waited for. */
  children: number;
}

function stat(pid: number, file = `/proc/${pid}/stat`): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined; // exited meanwhile
  }
  // After the command: state is field 3, ppid 4, utime 14, stime 15, cutime 16, cstime 17 (1-based).
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const user = Number(f[11]);
  const system = Number(f[12]);
  return {
    ppid: Number(f[1]),
    user,
    system,
    own: user + system,
    children: Number(f[13]) + Number(f[14]),
  };
}

/** CPU seconds (user + system) the process used so far. */
export function cpuSeconds(pid: number): number {
  return (stat(pid)?.own ?? 0) / TICKS_PER_SECOND;
}

/** User and system CPU seconds the process used so far, apart (0 once it exited). */
export function cpuSplit(pid: number): { user: number; system: number } {
  const s = stat(pid);
  return { user: (s?.user ?? 0) / TICKS_PER_SECOND, system: (s?.system ?? 0) / TICKS_PER_SECOND };
}

/** CPU seconds of the main thread (its id is the process's) and of all the others (libuv's pool, V8's helpers). */
export function threadCpuSeconds(pid: number): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const t = stat(pid, `/proc/${pid}/task/${tid}/stat`); // undefined: the thread ended meanwhile
    if (!t) continue;
    if (Number(tid) === pid) main += t.own;
    else others += t.own;
  }
  return { main: main / TICKS_PER_SECOND, others: others / TICKS_PER_SECOND };
}

/**
 * CPU seconds of a server and all its children, the exited ones included (their time is in the
 * parent's cutime/cstime once reaped): PostgreSQL's postmaster, its backends and background workers.
 * A difference of two readings is what the server used in between.
 */
export function treeCpuSeconds(pid: number): number {
  const root = stat(pid);
  if (!root) return 0;
  let ticks = root.own + root.children;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(Number(entry));
    if (s?.ppid === pid) ticks += s.own + s.children;
  }
  return ticks / TICKS_PER_SECOND;
}

/** Peak resident set size (VmHWM) of a live process, in MB. */
export function peakRssMb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** The PID of the process whose command line has `binary` as its program and `arg` among its arguments. */
export function findProcess(binary: RegExp, arg: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (binary.test(argv[0] ?? '') && argv.includes(arg)) return Number(entry);
  }
  return undefined;
}
