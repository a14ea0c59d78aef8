// Summarises a V8 .cpuprofile (from `BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=DIR"`): self time
// summed by function and by file, optionally per message (`--per N`), so a profile reads as
// "where the time of one message goes". Usage: node --import tsx bench/profile-summary.ts FILE [--per N] [--top K]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const args = process.argv.slice(2);
const file = args[0];
if (!file) throw new Error('usage: profile-summary.ts FILE.cpuprofile [--per N] [--top K]');
const per = args.includes('--per') ? Number(args[args.indexOf('--per') + 1]) : 1;
const top = args.includes('--top') ? Number(args[args.indexOf('--top') + 1]) : 30;
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
for (let i = 0; i < p.samples.length; i++) {
  const id = p.samples[i]!;
  self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const d = url.indexOf('/dist/');
  if (d >= 0) return url.slice(d + 1);
  return url.replace(/^file:\/\//, '') || '(native)';
}

const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const [id, us] of self) {
  const n = byId.get(id)!;
  const f = shortUrl(n.callFrame.url);
  const key = `${n.callFrame.functionName || '(anonymous)'}  ${f}:${n.callFrame.lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  byFile.set(f, (byFile.get(f) ?? 0) + us);
}

const total = [...self.values()].reduce((a, b) => a + b, 0);
const fmt = (us: number) =>
  `${(us / 1000).toFixed(0).padStart(7)} ms  ${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / per).toFixed(1).padStart(8)} µs/msg`;
console.log(`total sampled ${(total / 1e6).toFixed(2)} s, ${per} message(s)`);
for (const [title, m] of [
  ['by function (self time)', byFunction],
  ['by file (self time)', byFile],
] as const) {
  console.log(`\n${title}`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${fmt(us)}  ${k}`);
}

// `--callers NAME`: where the self time of functions called NAME comes from (call chains, 5 deep).
const callersOf = args.includes('--callers') ? args[args.indexOf('--callers') + 1] : undefined;
if (callersOf) {
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const chains = new Map<string, number>();
  for (const [id, us] of self) {
    if (byId.get(id)!.callFrame.functionName !== callersOf) continue;
    const names: string[] = [];
    for (let at = parent.get(id); at !== undefined && names.length < 6; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      names.push(`${f.functionName || '(anon)'}@${shortUrl(f.url).split('/').pop()}:${f.lineNumber + 1}`);
    }
    const key = names.join(' < ');
    chains.set(key, (chains.get(key) ?? 0) + us);
  }
  console.log(`\ncallers of ${callersOf}`);
  for (const [k, us] of [...chains].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${fmt(us)}  ${k}`);
}

// `--inclusive`: time with callees, per function of dist/ (each sample counted once per function).
if (args.includes('--inclusive')) {
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const incl = new Map<string, number>();
  for (const [id, us] of self) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      if (!f.url.includes('/dist/')) continue;
      const key = `${f.functionName || '(anonymous)'}  ${shortUrl(f.url)}:${f.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      incl.set(key, (incl.get(key) ?? 0) + us);
    }
  }
  console.log('\ninclusive (dist/ functions)');
  for (const [k, us] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${fmt(us)}  ${k}`);
}
