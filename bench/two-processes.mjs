// A ceiling for spreading Postbote's work over the machine's cores: `fetch` with the mailboxes of a
// bench configuration dealt to N separate processes (own state folder each, run at once), as if every
// share ran on its own thread with nothing shared and nothing to coordinate. Run through the bench as
// BENCH_CLI=bench/two-processes.mjs (it is given `fetch -c FILE` like the CLI); POSTBOTE_SHARES sets N
// (default: the number of cores). Plain JavaScript, so that it starts as fast as node itself.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const CLI = path.join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const args = process.argv.slice(2);
const config = args[args.indexOf('-c') + 1];
if (!config) throw new Error('usage: two-processes.mjs fetch -c FILE');
const shares = Number(process.env.POSTBOTE_SHARES ?? os.cpus().length);
const lines = readFileSync(config, 'utf8').split('\n');
const at = lines.indexOf('mailboxes:');
const head = lines.slice(0, at);
/** @type {string[][]} */
const boxes = [];
for (const line of lines.slice(at + 1)) {
  if (line.startsWith('  - ')) boxes.push([]);
  if (line.trim()) boxes.at(-1)?.push(line);
}
const runs = Array.from({ length: shares }, (_, i) => {
  const file = `${config}.${i}.yaml`;
  const own = head.map((l) => (l.startsWith('state: ') ? `${l}-${i}` : l));
  const mine = boxes.filter((_, j) => j % shares === i).flat();
  writeFileSync(file, [...own, 'mailboxes:', ...mine, ''].join('\n'));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'fetch', '-c', file], { stdio: 'inherit' });
    child.on('exit', (code) => resolve(code ?? 1));
  });
});
const codes = await Promise.all(runs);
process.exitCode = codes.some((c) => c !== 0) ? 1 : 0;
