// A bare line-oriented TCP/TLS client for poking real servers in tests (POP3, LMTP, IMAP) without
// any of Postbote's own protocol code in the way.
import net from 'node:net';
import tls from 'node:tls';

const CRLF = Buffer.from('\r\n');
// A raw test session never legitimately waits longer than this for a server's reply.
const READ_TIMEOUT_MS = 10_000;

export interface RawConnectOptions {
  port: number;
  host?: string;
  /** Implicit TLS, trusting this CA (PEM). */
  tls?: { ca: string; servername?: string };
}

export class RawConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private ended = false;
  private failure: Error | undefined;

  private constructor(private socket: net.Socket) {
    this.attach(socket);
  }

  static async connect(options: RawConnectOptions): Promise<RawConnection> {
    const host = options.host ?? '127.0.0.1';
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = options.tls
        ? tls.connect(
            { port: options.port, host, ca: options.tls.ca, servername: options.tls.servername },
            () => resolve(s),
          )
        : net.connect({ port: options.port, host }, () => resolve(s));
      s.once('error', reject);
    });
    return new RawConnection(socket);
  }

  /** Switches the connection to TLS (after STLS/STARTTLS was accepted). */
  async upgrade(ca: string, servername = 'localhost'): Promise<tls.TLSSocket> {
    this.socket.removeAllListeners('data');
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ socket: this.socket, ca, servername }, () => resolve(s));
      s.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
    return secure;
  }

  send(line: string): void {
    this.socket.write(line + '\r\n');
  }

  write(data: Buffer | string): void {
    this.socket.write(data);
  }

  /** Sends a command and returns the first reply line. */
  async command(line: string): Promise<string> {
    this.send(line);
    return this.readLine();
  }

  /** The next line, without its CRLF. */
  async readLine(): Promise<string> {
    return (await this.readUntil(CRLF)).subarray(0, -2).toString('latin1');
  }

  /** Bytes up to and including the first occurrence of `terminator`. */
  async readUntil(terminator: Buffer): Promise<Buffer> {
    const deadline = Date.now() + READ_TIMEOUT_MS;
    for (;;) {
      const at = this.buffer.indexOf(terminator);
      if (at >= 0) {
        const out = this.buffer.subarray(0, at + terminator.length);
        this.buffer = this.buffer.subarray(at + terminator.length);
        return out;
      }
      if (this.failure) throw this.failure;
      if (this.ended)
        throw new Error(`connection closed; unread: ${this.buffer.toString('latin1').slice(0, 200)}`);
      await this.more(deadline - Date.now());
    }
  }

  /** A POP3 multi-line body after its status line, raw (still stuffed), with its ".\r\n" line. */
  async readMultiline(): Promise<Buffer> {
    const lines: Buffer[] = [];
    for (;;) {
      const line = await this.readUntil(CRLF);
      lines.push(line);
      if (line.length === 3 && line[0] === 0x2e) return Buffer.concat(lines);
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private attach(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.wake?.();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake?.();
    });
    socket.on('error', (err) => {
      this.failure = err;
      this.wake?.();
    });
  }

  private more(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.wake = undefined;
          reject(new Error(`no reply within ${READ_TIMEOUT_MS} ms`));
        },
        Math.max(0, timeoutMs),
      );
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }
}
