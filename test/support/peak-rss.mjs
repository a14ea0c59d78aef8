// Preloaded into a process (NODE_OPTIONS=--import=…) to print its peak resident set size at exit,
// for memory measurements of the real CLI (Linux reports maxRSS in KiB).
import { writeSync } from 'node:fs';

process.on('exit', () => {
  writeSync(2, `\npeak-rss-kib ${process.resourceUsage().maxRSS}\n`);
});
