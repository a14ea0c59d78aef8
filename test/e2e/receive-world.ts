// What the receive connector's end-to-end suites share: a listener configuration with test defaults,
// starting one on a free port, swaks, and the message they send.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ReceiveConfig } from '../../src/config/index.js';
import type { Logger } from '../../src/log.js';
import { silentLogger } from '../../src/log.js';
import { type Listener, startReceivers } from '../../src/receive/index.js';

export const MB = 1024 * 1024;

export function listenerConfig(
  overrides: Partial<ReceiveConfig> & Pick<ReceiveConfig, 'deliver'>,
): ReceiveConfig {
  return {
    name: 'test',
    bindings: ['127.0.0.1:0'],
    remoteIpRanges: ['127.0.0.2', '127.0.0.10-127.0.0.20', '::1'],
    auth: 'none',
    users: [],
    allowInsecureAuth: false,
    acceptedDomains: [
      { domain: 'corp.local' },
      { domain: 'team.example', recipients: ['alice@team.example'] },
    ],
    maxMessageSize: 1 * MB,
    maxRecipients: 10,
    rateLimits: { connectionsPerMinute: 600, messagesPerMinute: 600 },
    allowSenderRouting: false,
    maxConnections: 100,
    maxConnectionsPerIp: 20,
    timeouts: { idle: 5 * 60_000, session: 10 * 60_000 },
    minDataRate: 500,
    // A short tarpit keeps the suites fast; the hardening suite sets its own.
    authFailures: { perSession: 3, delay: 50, lockoutAfter: 10, lockout: 15 * 60_000 },
    ...overrides,
  };
}

export function portOf(l: Listener): number {
  return Number(l.addresses[0]!.split(':').pop());
}

/** Runs swaks; resolves with its exit code and the whole transcript. */
export function swaks(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      'swaks',
      ['--timeout', '30', '--suppress-data', ...args],
      { timeout: 60_000, maxBuffer: 16 * MB },
      (err, stdout, stderr) => {
        const code = err ? Number((err as { code?: number }).code ?? 1) : 0;
        resolve({ code, out: stdout + stderr });
      },
    );
  });
}

export function newFiles(root: string, recipient: string, sub = 'new'): string[] {
  try {
    return readdirSync(join(root, recipient, sub));
  } catch {
    return [];
  }
}

export const MESSAGE =
  'From: sender@example.net\r\nTo: bob@corp.local\r\nSubject: receive test\r\nMessage-ID: <r1@example.net>\r\n\r\n' +
  'first line\r\n.leading dot survives\r\n\r\nlast line\r\n';

/** Starts one listener on a free loopback port. */
export async function listen(
  config: ReceiveConfig,
  logger: Logger = silentLogger(),
): Promise<{ port: number; close: () => Promise<void> }> {
  const r = await startReceivers([config], logger);
  return { port: portOf(r.listeners[0]!), close: r.close };
}
