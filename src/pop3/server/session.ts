// One client connection of the in-process POP3 server: reads command lines (several may arrive at
// once: pipelining), runs them in order through the command table, and writes replies.
import type { Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';
import { COMMANDS } from './commands.js';
import type { Maildrop } from './maildrop.js';
import { saslContinue } from './sasl.js';
import type { Pop3ServerCapabilities, Pop3ServerHooks, SessionState } from './types.js';

// RFC 2449 limits commands to 255 octets; a client sending more without CRLF is broken or hostile.
const MAX_COMMAND_LINE = 4096;

export interface ServerContext {
  users: Map<string, { password: string; maildrop: Maildrop }>;
  capabilities: Required<Pop3ServerCapabilities>;
  hooks: Pop3ServerHooks;
  secureContext: SecureContext | undefined;
}

export class ServerSession {
  state: SessionState = { kind: 'AUTHORIZATION' };
  readonly timestamp: string;
  secure: boolean;
  private buf = '';
  private stalled = false;

  constructor(
    readonly id: number,
    private socket: Socket,
    readonly ctx: ServerContext,
  ) {
    this.secure = socket instanceof TLSSocket;
    this.timestamp = `<${process.pid}.${id}.${Date.now()}@postbote.test>`;
    socket.setEncoding('latin1');
    socket.on('data', this.onData);
    socket.on('error', () => {}); // a client that vanishes is normal here; 'close' cleans up
    socket.on('close', () => this.release());
    const apop = ctx.capabilities.apop ? ` ${this.timestamp}` : '';
    this.reply(`+OK POP3 server ready${apop}`);
  }

  reply(line: string): void {
    this.socket.write(`${line}\r\n`, 'latin1');
  }

  /** Writes a status line and an already stuffed, terminated body in one go. */
  replyMulti(status: string, stuffed: Buffer): void {
    this.socket.write(`${status}\r\n`, 'latin1');
    this.socket.write(stuffed);
  }

  /** RETR with the fault hook: send only the first `retrCutAfter` octets of the body, then drop. */
  replyRetr(status: string, stuffed: Buffer): void {
    const cut = this.ctx.hooks.retrCutAfter;
    if (cut === undefined) {
      this.replyMulti(status, stuffed);
      return;
    }
    this.socket.write(`${status}\r\n`, 'latin1');
    this.socket.write(stuffed.subarray(0, cut), () => this.socket.destroy());
  }

  /** QUIT: reply, then close our side. */
  end(line: string): void {
    this.socket.end(`${line}\r\n`, 'latin1');
  }

  drop(): void {
    this.socket.destroy();
  }

  /** STLS after "+OK": input already buffered is discarded (RFC 2595 §4), then TLS takes over. */
  startTls(): void {
    const context = this.ctx.secureContext;
    if (!context) throw new Error('STLS without TLS configuration');
    this.buf = '';
    this.socket.uncork(); // the "+OK" must leave in clear before the handshake starts
    this.socket.removeListener('data', this.onData);
    const secure = new TLSSocket(this.socket, { isServer: true, secureContext: context });
    secure.setEncoding('latin1');
    secure.on('data', this.onData);
    secure.on('error', () => secure.destroy());
    this.socket = secure;
    this.secure = true;
  }

  private readonly onData = (chunk: string): void => {
    if (this.stalled) return;
    this.buf += chunk;
    // Replies to pipelined commands leave in one segment, as a real server's buffered output would.
    const socket = this.socket;
    socket.cork();
    try {
      for (let lf = this.buf.indexOf('\n'); lf >= 0 && !this.stalled; lf = this.buf.indexOf('\n')) {
        const line = this.buf.slice(0, lf).replace(/\r$/, '');
        this.buf = this.buf.slice(lf + 1);
        const upgrading = this.handle(line);
        if (upgrading) return;
      }
      if (this.buf.length > MAX_COMMAND_LINE) {
        this.reply('-ERR line too long');
        this.drop();
      }
    } finally {
      socket.uncork();
    }
  };

  /** Runs one line; true when the connection switched to TLS and the rest of the input is void. */
  private handle(line: string): boolean {
    const state = this.state;
    if (state.kind === 'AUTHORIZATION' && state.sasl) {
      saslContinue(this, state, line);
      return false;
    }
    const space = line.indexOf(' ');
    const command = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const args = space < 0 ? '' : line.slice(space + 1);
    const user = state.kind === 'UPDATE' ? undefined : state.user;
    const verdict = this.ctx.hooks.onCommand?.({
      sessionId: this.id,
      user,
      command,
      args,
      state: state.kind,
    });
    if (verdict === 'drop') {
      this.drop();
      this.stalled = true;
      return false;
    }
    if (verdict === 'stall') {
      this.stalled = true;
      return false;
    }
    if (verdict) {
      this.reply(verdict.reply);
      return false;
    }
    const entry = COMMANDS.get(command);
    if (!entry?.enabled(this.ctx.capabilities)) {
      this.reply('-ERR unknown command');
      return false;
    }
    if (!entry.states.includes(state.kind)) {
      this.reply(`-ERR ${command} not valid in the ${state.kind} state`);
      return false;
    }
    return entry.handler(this, args) === 'tls';
  }

  /** Connection gone: a session that did not QUIT commits nothing, and the maildrop is free again. */
  private release(): void {
    if (this.state.kind === 'TRANSACTION') this.state.maildrop.unlock(this.id);
    this.state = { kind: 'UPDATE' };
  }
}
