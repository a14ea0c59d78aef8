// A small scriptable IMAP server for the faults real servers do not produce on demand: a literal that
// never ends or lies about its size, BYE in the middle of a FETCH, NO [OVERQUOTA] / [UNAVAILABLE].
// It speaks just enough IMAP4rev1 for imapflow (LOGIN, LIST, SELECT, FETCH, UID STORE/EXPUNGE/MOVE).
import { createServer, type Server, type Socket } from 'node:net';

export interface FakeMessage {
  uid: number;
  data: Buffer;
  flags: Set<string>;
}

/** Returns true when it answered the command itself (the default handling is skipped). */
export type Hook = (
  cmd: { tag: string; name: string; line: string; uid?: number },
  socket: Socket,
) => boolean;

export interface FakeImap {
  port: number;
  /** Announced capabilities; UIDPLUS and MOVE may be taken out to test the fallbacks. */
  caps: string;
  /** Messages copied by UID COPY, by folder. */
  copied: Map<string, number[]>;
  messages: FakeMessage[];
  commands: string[];
  hook?: Hook;
  stop(): Promise<void>;
}

const UIDVALIDITY = 77;

export async function startFakeImap(bodies: Buffer[]): Promise<FakeImap> {
  const sockets = new Set<Socket>();
  const fake: FakeImap = {
    port: 0,
    caps: 'IMAP4rev1 UIDPLUS MOVE',
    copied: new Map(),
    messages: bodies.map((data, i) => ({ uid: i + 1, data, flags: new Set() })),
    commands: [],
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.write(`* OK [CAPABILITY ${fake.caps}] fake ready\r\n`);
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      for (let i = buffered.indexOf('\r\n'); i >= 0; i = buffered.indexOf('\r\n')) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 2);
        handle(fake, socket, line);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.port = (server.address() as { port: number }).port;
  return fake;
}

function uidsOf(set: string, messages: FakeMessage[]): FakeMessage[] {
  const out: FakeMessage[] = [];
  for (const part of set.split(',')) {
    const [a, b] = part.split(':');
    const lo = Number(a);
    const hi = b === undefined ? lo : b === '*' ? Number.MAX_SAFE_INTEGER : Number(b);
    out.push(...messages.filter((m) => m.uid >= lo && m.uid <= hi));
  }
  return out;
}

function handle(fake: FakeImap, socket: Socket, line: string): unknown {
  const m = /^(\S+) (UID )?(\S+)(?: (.*))?$/i.exec(line);
  if (!m) return;
  const [, tag = '', uidPrefix, word = '', rest = ''] = m;
  const name = `${uidPrefix ? 'UID ' : ''}${word.toUpperCase()}`;
  fake.commands.push(name);
  const uid = uidPrefix ? Number(/^(\d+)/.exec(rest)?.[1]) : undefined;
  if (fake.hook?.({ tag, name, line, uid }, socket)) return;
  const ok = (text = 'done') => socket.write(`${tag} OK ${text}\r\n`);
  const seq = (msg: FakeMessage) => fake.messages.indexOf(msg) + 1;
  switch (name) {
    case 'CAPABILITY':
      socket.write(`* CAPABILITY ${fake.caps}\r\n`);
      return ok();
    case 'LOGIN':
      return ok(`[CAPABILITY ${fake.caps}] logged in`);
    case 'LIST':
      // LIST "" "" asks for the hierarchy delimiter and root (RFC 3501 6.3.8).
      socket.write(
        /"" ""$/.test(rest) ? '* LIST (\\Noselect) "/" ""\r\n' : '* LIST (\\HasNoChildren) "/" INBOX\r\n',
      );
      return ok();
    case 'SELECT':
    case 'EXAMINE':
      socket.write(
        `* FLAGS (\\Seen \\Deleted)\r\n* ${fake.messages.length} EXISTS\r\n* OK [UIDVALIDITY ${UIDVALIDITY}] v\r\n` +
          `* OK [UIDNEXT ${fake.messages.length + 100}] n\r\n`,
      );
      return ok('[READ-WRITE] selected');
    case 'FETCH': {
      for (const msg of fake.messages) {
        socket.write(
          `* ${seq(msg)} FETCH (UID ${msg.uid} RFC822.SIZE ${msg.data.length} FLAGS (${[...msg.flags].join(' ')}) ` +
            `INTERNALDATE "01-Jan-2024 10:00:00 +0000" ENVELOPE (NIL "s" NIL NIL NIL NIL NIL NIL NIL "<m${msg.uid}@fake>"))\r\n`,
        );
      }
      return ok();
    }
    case 'UID FETCH': {
      const [set = ''] = rest.split(' ');
      const partial = /BODY\.PEEK\[\]<(\d+)\.(\d+)>/i.exec(rest);
      const header = /BODY\.PEEK\[HEADER\]/i.test(rest);
      for (const msg of uidsOf(set, fake.messages)) {
        let body = '';
        if (partial) {
          const data = msg.data.subarray(Number(partial[1]), Number(partial[1]) + Number(partial[2]));
          body = ` BODY[]<${partial[1]}> {${data.length}}\r\n${data.toString('latin1')}`;
        } else if (header) {
          const end = msg.data.indexOf('\r\n\r\n');
          const data = msg.data.subarray(0, end + 4);
          body = ` BODY[HEADER] {${data.length}}\r\n${data.toString('latin1')}`;
        }
        socket.write(Buffer.from(`* ${seq(msg)} FETCH (UID ${msg.uid}${body})\r\n`, 'latin1'));
      }
      return ok();
    }
    case 'UID STORE': {
      const [set = ''] = rest.split(' ');
      const add = /\+FLAGS/i.test(rest);
      const flags = /\(([^)]*)\)/.exec(rest)?.[1]?.split(' ').filter(Boolean) ?? [];
      for (const msg of uidsOf(set, fake.messages))
        for (const f of flags) add ? msg.flags.add(f) : msg.flags.delete(f);
      return ok();
    }
    case 'UID SEARCH':
      socket.write(
        `* SEARCH ${fake.messages
          .filter((m) => m.flags.has('\\Deleted'))
          .map((m) => m.uid)
          .join(' ')}\r\n`,
      );
      return ok();
    case 'UID COPY': {
      const [set = '', quoted = ''] = rest.split(' ');
      const folder = quoted.replace(/^"(.*)"$/, '$1');
      const list = fake.copied.get(folder) ?? [];
      list.push(...uidsOf(set, fake.messages).map((m) => m.uid));
      fake.copied.set(folder, list);
      return ok();
    }
    case 'EXPUNGE':
      for (const msg of [...fake.messages].reverse()) {
        if (!msg.flags.has('\\Deleted')) continue;
        socket.write(`* ${seq(msg)} EXPUNGE\r\n`);
        fake.messages.splice(fake.messages.indexOf(msg), 1);
      }
      return ok();
    case 'UID EXPUNGE': {
      const [set = ''] = rest.split(' ');
      for (const msg of uidsOf(set, fake.messages)) {
        if (!msg.flags.has('\\Deleted')) continue;
        socket.write(`* ${seq(msg)} EXPUNGE\r\n`);
        fake.messages.splice(fake.messages.indexOf(msg), 1);
      }
      return ok();
    }
    case 'LOGOUT':
      socket.write('* BYE bye\r\n');
      ok();
      socket.end();
      return;
    default:
      return ok();
  }
}

/**
 * Makes the server take AUTHENTICATE XOAUTH2 with the payload on the command line (SASL-IR), as Gmail
 * and Outlook do, in front of the hook already set; returns the bearer token of each login, in order.
 */
export function acceptXoauth2(fake: FakeImap): string[] {
  const tokens: string[] = [];
  const inner = fake.hook;
  fake.caps = `${fake.caps} AUTH=XOAUTH2 SASL-IR`;
  fake.hook = (cmd, socket) => {
    if (cmd.name !== 'AUTHENTICATE') return inner?.(cmd, socket) ?? false;
    const payload = Buffer.from(cmd.line.split(' ')[3] ?? '', 'base64').toString('latin1');
    // Fields are separated by \x01 (RFC 7628 3.1 framing, which XOAUTH2 copies).
    const auth = payload.split('\x01').find((f) => f.startsWith('auth=Bearer ')) ?? '';
    tokens.push(auth.slice('auth=Bearer '.length));
    socket.write(`${cmd.tag} OK [CAPABILITY ${fake.caps}] authenticated\r\n`);
    return true;
  };
  return tokens;
}
