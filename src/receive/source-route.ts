// Hooks on smtp-server's per-client connection: finding it for a session, and noticing source routes
// (`<@relay:user@domain>`) that smtp-server strips before the application sees the address.
import type { SMTPServer } from 'smtp-server';
import { hasSourceRoute } from './policy.js';
import type { SMTPConnection } from './session-guard.js';

/** The smtp-server connection behind a session (a few hundred at most, so a scan is cheap). */
export function findConnection(servers: readonly SMTPServer[], id: string): SMTPConnection | undefined {
  for (const server of servers) {
    for (const connection of server.connections) if (connection.id === id) return connection;
  }
  return undefined;
}

/** Parsed RCPT addresses whose command carried a source route, which smtp-server strips. */
export const sourceRouted = new WeakSet<object>();

/**
 * smtp-server removes `@relay,@relay:` from `<@relay,@relay:user@domain>` (RFC 5321 appendix C says
 * to ignore it) before onRcptTo, so the raw command is looked at here, per connection.
 */
export function markSourceRoutes(connection: SMTPConnection): void {
  const parse = connection._parseAddressCommand;
  connection._parseAddressCommand = function (name, command) {
    const parsed = parse.call(this, name, command);
    if (parsed && hasSourceRoute(command.toString())) sourceRouted.add(parsed);
    return parsed;
  };
}
