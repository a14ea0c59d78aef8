// The physical limit of fetching: one POP3S connection per mailbox (one at a time), every RETR written
// at once (pipelined), and the replies only counted, not parsed, stored or forwarded.
// Usage: node --import tsx bench/raw-retr.ts HOST PORT CAFILE PASSWORD USER...  → JSON on stdout.
import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';

interface RawResult {
  messages: number;
  bytes: number;
  seconds: number;
}

function readLine(socket: tls.TLSSocket, state: { buf: Buffer }): Promise<string> {
  return new Promise((resolve, reject) => {
    const tryLine = () => {
      const lf = state.buf.indexOf(0x0a);
      if (lf < 0) return false;
      const line = state.buf.toString('latin1', 0, lf).trimEnd();
      state.buf = state.buf.subarray(lf + 1);
      socket.off('data', onData);
      socket.off('error', reject);
      resolve(line);
      return true;
    };
    const onData = (c: Buffer) => {
      state.buf = Buffer.concat([state.buf, c]);
      tryLine();
    };
    if (tryLine()) return;
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

async function command(socket: tls.TLSSocket, state: { buf: Buffer }, line: string): Promise<string> {
  socket.write(`${line}\r\n`);
  const reply = await readLine(socket, state);
  if (!reply.startsWith('+OK')) throw new Error(`${line.split(' ')[0]}: ${reply}`);
  return reply;
}

/** Logs in, pipelines RETR 1..n and QUIT, and counts the bytes until the server closes. */
async function drain(host: string, port: number, ca: string, user: string, password: string) {
  const socket = tls.connect({ host, port, ca });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  const state = { buf: Buffer.alloc(0) };
  await readLine(socket, state);
  await command(socket, state, `USER ${user}`);
  await command(socket, state, `PASS ${password}`);
  const count = Number((await command(socket, state, 'STAT')).split(' ')[1]);
  let bytes = state.buf.length;
  const done = new Promise<void>((resolve, reject) => {
    socket.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    socket.once('end', resolve);
    socket.once('error', reject);
  });
  let cmds = '';
  for (let i = 1; i <= count; i++) cmds += `RETR ${i}\r\n`;
  socket.write(`${cmds}QUIT\r\n`);
  await done;
  socket.destroy();
  return { messages: count, bytes };
}

async function main(): Promise<void> {
  const [host, port, caFile, password, ...users] = process.argv.slice(2);
  const ca = readFileSync(caFile!, 'utf8');
  const started = process.hrtime.bigint();
  const out: RawResult = { messages: 0, bytes: 0, seconds: 0 };
  for (const user of users) {
    const r = await drain(host!, Number(port), ca, user, password!);
    out.messages += r.messages;
    out.bytes += r.bytes;
  }
  out.seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

await main();
