// `postbote hash-password`: reads a password (prompt without echo on a terminal, else one line of
// stdin) and prints its argon2id hash for the configuration.
import { createInterface } from 'node:readline';
import { hashPassword } from '../util/password.js';

async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin });
    for await (const line of rl) return line;
    return '';
  }
  process.stderr.write('Password: ');
  process.stdin.setRawMode(true);
  let value = '';
  for await (const chunk of process.stdin) {
    const s = String(chunk);
    if (s === '\r' || s === '\n') break;
    if (s === '\u0003') process.exit(130);
    value = s === '\u007f' ? value.slice(0, -1) : value + s;
  }
  process.stdin.setRawMode(false);
  process.stderr.write('\n');
  return value;
}

export async function hashPasswordCommand(): Promise<void> {
  const password = await readPassword();
  if (password.length === 0) {
    console.error('postbote: empty password');
    process.exitCode = 2;
    return;
  }
  console.log(await hashPassword(password));
}
