// The sockets of one receive connector: an smtp-server per binding (host:port, port 0 for any free
// one), all sharing one set of options, and closing them all.
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { Logger } from '../log.js';
import { splitHostPort } from './relay.js';

/**
 * Listens on every binding, adding each server to `servers` once it listens (the caller's hooks look
 * sessions up there). Returns the addresses bound as host:port; on a failure closes what was bound.
 */
export async function listenOnBindings(
  bindings: readonly string[],
  options: SMTPServerOptions,
  servers: SMTPServer[],
  log: Logger,
): Promise<string[]> {
  const addresses: string[] = [];
  try {
    for (const binding of bindings) {
      const { host, port } = splitHostPort(binding);
      const server = new SMTPServer(options);
      server.on('error', (err) => log.error({ err }, `listener ${binding}: ${err.message}`));
      await new Promise<void>((resolve, reject) => {
        server.server.once('error', reject);
        server.listen(port, host, () => {
          server.server.off('error', reject);
          resolve();
        });
      });
      const bound = server.server.address();
      const actual = typeof bound === 'object' && bound ? bound.port : port;
      addresses.push(host.includes(':') ? `[${host}]:${actual}` : `${host}:${actual}`);
      servers.push(server);
    }
  } catch (err) {
    await closeAll(servers);
    throw err;
  }
  return addresses;
}

/** Stops accepting and waits for the sessions in hand (smtp-server's closeTimeout bounds the wait). */
export async function closeAll(servers: SMTPServer[]): Promise<void> {
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
}
