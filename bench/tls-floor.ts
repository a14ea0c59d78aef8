// The floor under an idle poll: what Node's TLS machinery alone costs per POP3S connection, with no
// Postbote code around it. A bare loop (tls.connect with the session of the last connection, the
// greeting, then QUIT, or the whole poll's commands) against a private Dovecot in either login mode;
// CPU per connection from process.cpuUsage (user + system of this process: kernel work of connect
// and close included, Dovecot's own not). Usage:
//   node --import tsx bench/tls-floor.ts [--mode performance|secure] [--count N] [--poll]
// --poll sends what a Postbote poll of an empty mailbox sends (CAPA USER PASS, CAPA UIDL LIST, QUIT);
// --merged the same with the login and the listing in one write; --ab both, in alternating blocks;
// --client the two-write loop against Postbote's POP3 client (openPop3, list, close), alternating.
import * as tls from 'node:tls';
import { silentLogger } from '../src/log.js';
import { openPop3 } from '../src/pop3/client.js';
import { startDovecot } from '../test/support/dovecot.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) =>
  args.includes(name) ? String(args[args.indexOf(name) + 1]) : dflt;
const mode = opt('--mode', 'performance') as 'performance' | 'secure';
const count = Number(opt('--count', '2000'));
const merged = args.includes('--merged');
const ab = args.includes('--ab');
const client = args.includes('--client');
const poll = merged || ab || client || args.includes('--poll');

const USER = 'floor';
const PASSWORD = 'floor-secret';

/** Sends `writes` one after the other, each once the previous one's expected replies arrived. */
function session(
  port: number,
  context: tls.SecureContext,
  session: Buffer | undefined,
  writes: Array<{ text: string; replies: RegExp }>,
): Promise<{ session: Buffer | undefined; reused: boolean }> {
  return new Promise((resolve, reject) => {
    let ticket = session;
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      secureContext: context,
      servername: 'localhost',
      session,
    });
    socket.on('session', (t: Buffer) => {
      ticket = t;
    });
    let reused = false;
    socket.once('secureConnect', () => {
      reused = socket.isSessionReused();
    });
    let buf = '';
    let step = -1; // -1: greeting
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      const expect = step < 0 ? /^\+OK[^\r\n]*\r\n/ : writes[step]!.replies;
      if (!expect.test(buf)) return;
      buf = '';
      step++;
      if (step < writes.length) socket.write(writes[step]!.text);
      else socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve({ session: ticket, reused }));
  });
}

const dovecot = await startDovecot({
  users: [USER],
  password: PASSWORD,
  name: `floor-${mode}`,
  loginMode: mode,
});
try {
  const context = tls.createSecureContext({ ca: [...tls.rootCertificates, dovecot.caPem] });
  const quit = { text: 'QUIT\r\n', replies: /\+OK[^\r\n]*\r\n$/ };
  const listing = /\r\n\.\r\n\+OK[^\r\n]*\r\n\.\r\n\+OK[^\r\n]*\r\n\.\r\n$/;
  const writes = merged
    ? [
        { text: `CAPA\r\nUSER ${USER}\r\nPASS ${PASSWORD}\r\nCAPA\r\nUIDL\r\nLIST\r\n`, replies: listing },
        quit,
      ]
    : poll
      ? [
          {
            text: `CAPA\r\nUSER ${USER}\r\nPASS ${PASSWORD}\r\n`,
            replies: /\r\n\.\r\n\+OK[^\r\n]*\r\n\+OK[^\r\n]*\r\n$/,
          },
          {
            text: 'CAPA\r\nUIDL\r\nLIST\r\n',
            replies: /\r\n\.\r\n\+OK[^\r\n]*\r\n\.\r\n\+OK[^\r\n]*\r\n\.\r\n$/,
          },
          quit,
        ]
      : [quit];
  let ticket: Buffer | undefined;
  // Warm up (JIT, first full handshakes), then measure.
  for (let i = 0; i < 50; i++) ticket = (await session(dovecot.ports.pop3s, context, ticket, writes)).session;
  /** CPU milliseconds per connection over `n` connections with `w`, and how many resumed. */
  const measure = async (n: number, w: typeof writes) => {
    let resumed = 0;
    const before = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      const r = await session(dovecot.ports.pop3s, context, ticket, w);
      ticket = r.session;
      if (r.reused) resumed++;
    }
    const cpu = process.cpuUsage(before);
    return {
      ms: (cpu.user + cpu.system) / 1000 / n,
      user: cpu.user / 1000 / n,
      system: cpu.system / 1000 / n,
      resumed,
    };
  };
  if (client) {
    const o = {
      host: '127.0.0.1',
      port: dovecot.ports.pop3s,
      tls: 'tls' as const,
      ca: Buffer.from(dovecot.caPem),
      servername: 'localhost',
      user: USER,
      password: PASSWORD,
      listOnLogin: true,
      logger: silentLogger(), // one, as the service passes its own
    };
    const postbote = async (n: number) => {
      const before = process.cpuUsage();
      for (let i = 0; i < n; i++) {
        const s = await openPop3(o);
        await s.list();
        await s.close();
      }
      const cpu = process.cpuUsage(before);
      return { ms: (cpu.user + cpu.system) / 1000 / n, system: cpu.system / 1000 / n };
    };
    await postbote(50);
    const twoWrites = [
      { text: `CAPA\r\nUSER ${USER}\r\nPASS ${PASSWORD}\r\nCAPA\r\nUIDL\r\nLIST\r\n`, replies: listing },
      quit,
    ];
    const sums = { bare: 0, bareSystem: 0, postbote: 0, postboteSystem: 0 };
    const BLOCKS = 6;
    for (let b = 0; b < BLOCKS; b++) {
      const bare = await measure(count / BLOCKS, twoWrites);
      sums.bare += bare.ms / BLOCKS;
      sums.bareSystem += bare.system / BLOCKS;
      const ours = await postbote(count / BLOCKS);
      sums.postbote += ours.ms / BLOCKS;
      sums.postboteSystem += ours.system / BLOCKS;
    }
    console.log(
      `${mode}: ${count} polls each, bare loop ${sums.bare.toFixed(3)} ms CPU each (system ${sums.bareSystem.toFixed(3)}), ` +
        `Postbote's POP3 client ${sums.postbote.toFixed(3)} ms (system ${sums.postboteSystem.toFixed(3)})`,
    );
  } else if (ab) {
    // Three writes against two, in alternating blocks so that a machine's changing load hits both alike.
    const threeWrites = writes;
    const twoWrites = [
      { text: `CAPA\r\nUSER ${USER}\r\nPASS ${PASSWORD}\r\nCAPA\r\nUIDL\r\nLIST\r\n`, replies: listing },
      quit,
    ];
    const sums = { three: 0, two: 0 };
    const BLOCKS = 6;
    for (let b = 0; b < BLOCKS; b++) {
      sums.three += (await measure(count / BLOCKS, threeWrites)).ms;
      sums.two += (await measure(count / BLOCKS, twoWrites)).ms;
    }
    console.log(
      `${mode}: ${count} polls each, three writes ${(sums.three / BLOCKS).toFixed(3)} ms CPU each, two writes ${(sums.two / BLOCKS).toFixed(3)} ms`,
    );
  } else {
    const started = process.hrtime.bigint();
    const r = await measure(count, writes);
    const wall = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(
      `${mode}, ${merged ? 'two-write poll' : poll ? 'three-write poll' : 'greeting + QUIT'}: ${count} connections, ${r.resumed} resumed, ` +
        `${r.ms.toFixed(3)} ms CPU each (user ${r.user.toFixed(3)}, system ${r.system.toFixed(3)}), ` +
        `${(wall / count).toFixed(2)} ms wall each`,
    );
  }
} finally {
  await dovecot.stop();
}
