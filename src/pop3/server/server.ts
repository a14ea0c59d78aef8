// The in-process POP3 server for `postbote demo` and for fault tests: real RFC 1939 semantics
// (snapshot at login, DELE committed only by QUIT, maildrop lock), STLS or implicit TLS, fault hooks.
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer } from 'node:tls';
import { Maildrop } from './maildrop.js';
import { type ServerContext, ServerSession } from './session.js';
import type { Pop3ServerOptions } from './types.js';

export interface Pop3Server {
  readonly host: string;
  readonly port: number;
  /** The user's messages as committed (what a new session would see). */
  mailbox(user: string): Buffer[];
  /** The user's maildrop, to add messages while the server runs. */
  maildrop(user: string): Maildrop;
  /** Resolves once no client connection is open (the server has seen every client go). */
  idle(): Promise<void>;
  /** Stops listening and drops every open connection (a drop commits nothing). */
  close(): Promise<void>;
}

export async function startPop3Server(options: Pop3ServerOptions): Promise<Pop3Server> {
  const host = options.host ?? '127.0.0.1';
  const users: ServerContext['users'] = new Map();
  const entries = options.users instanceof Map ? [...options.users] : Object.entries(options.users);
  for (const [name, u] of entries) {
    const maildrop = u.messages instanceof Maildrop ? u.messages : new Maildrop(u.messages);
    users.set(name, { password: u.password, maildrop });
  }
  const tls = options.tls;
  const secureContext = tls ? createSecureContext({ key: tls.key, cert: tls.cert }) : undefined;
  const caps = options.capabilities ?? {};
  const ctx: ServerContext = {
    users,
    secureContext,
    hooks: options.hooks ?? {},
    capabilities: {
      capa: caps.capa ?? true,
      stls: (caps.stls ?? true) && tls !== undefined && !tls.implicitTls,
      pipelining: caps.pipelining ?? true,
      uidl: caps.uidl ?? true,
      top: caps.top ?? true,
      user: caps.user ?? true,
      respCodes: caps.respCodes ?? true,
      apop: caps.apop ?? true,
      sasl: caps.sasl ?? ['PLAIN', 'LOGIN'],
    },
  };

  const sockets = new Set<Socket>();
  let idleWaiters: Array<() => void> = [];
  let nextId = 1;
  const onConnection = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      if (sockets.size > 0) return;
      for (const wake of idleWaiters) wake();
      idleWaiters = [];
    });
    new ServerSession(nextId++, socket, ctx);
  };
  const server: Server = tls?.implicitTls
    ? createTlsServer({ key: tls.key, cert: tls.cert }, onConnection)
    : createTcpServer(onConnection);
  // A failed handshake with a client that does not trust us is routine in tests.
  server.on('tlsClientError', () => {});

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  const account = (user: string) => {
    const found = users.get(user);
    if (!found) throw new Error(`no such user in the test server: ${user}`);
    return found.maildrop;
  };
  return {
    host,
    port,
    mailbox: (user) =>
      account(user)
        .current()
        .map((m) => m.data),
    maildrop: account,
    idle: () =>
      sockets.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
