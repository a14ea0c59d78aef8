// A scripted SMTP conversation from a chosen loopback source address, for the receive connector's
// tests: sends each line, collects each (multi-line) reply verbatim, optionally upgrades with STARTTLS.
import net from 'node:net';
import tls from 'node:tls';

// A local listener answers in milliseconds; this only bounds a broken test.
const REPLY_TIMEOUT_MS = 15_000;

export interface DialogOptions {
  port: number;
  host?: string;
  localAddress?: string;
}

export interface Dialog {
  greeting: string;
  replies: string[];
}

export class SmtpSocket {
  private buffer = '';
  private waiter: (() => void) | undefined;
  private closed = false;

  private constructor(private socket: net.Socket | tls.TLSSocket) {
    this.attach(socket);
  }

  static async open(o: DialogOptions): Promise<SmtpSocket> {
    const socket = net.connect({ port: o.port, host: o.host ?? '127.0.0.1', localAddress: o.localAddress });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new SmtpSocket(socket);
  }

  private attach(socket: net.Socket): void {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buffer += d;
      this.waiter?.();
    });
    const end = () => {
      this.closed = true;
      this.waiter?.();
    };
    socket.on('close', end);
    socket.on('error', end);
  }

  /** One complete reply (all its lines, CRLF-joined), or '' when the server closed first. */
  async read(): Promise<string> {
    const deadline = Date.now() + REPLY_TIMEOUT_MS;
    for (;;) {
      const m = /^((?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n)/.exec(this.buffer);
      if (m) {
        this.buffer = this.buffer.slice(m[1]!.length);
        return m[1]!.trimEnd();
      }
      if (this.closed) return '';
      if (Date.now() > deadline) throw new Error(`no reply within ${REPLY_TIMEOUT_MS} ms: ${this.buffer}`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 200);
      });
      this.waiter = undefined;
    }
  }

  async command(line: string): Promise<string> {
    this.write(`${line}\r\n`);
    return this.read();
  }

  write(data: string | Buffer): boolean {
    return this.socket.write(data);
  }

  /** After a 220 to STARTTLS: the TLS handshake, trusting `ca`. */
  async upgrade(ca: string): Promise<void> {
    const secure = tls.connect({ socket: this.socket, ca, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket.removeAllListeners('data');
    this.socket = secure;
    this.attach(secure);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Greeting, then one reply per line; stops early when the server hangs up. */
export async function smtpDialog(o: DialogOptions, lines: string[]): Promise<Dialog> {
  const s = await SmtpSocket.open(o);
  try {
    const greeting = await s.read();
    const replies: string[] = [];
    for (const line of lines) {
      if (s.isClosed) break;
      replies.push(await s.command(line));
    }
    return { greeting, replies };
  } finally {
    s.close();
  }
}
