// The demo's stand-in for the company mail server: an SMTP listener on loopback that files each
// message under its recipient's folder, and answers 250 only once the file is written.
import { mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';

export interface DemoReceiver {
  port: number;
  delivered: Array<{ recipient: string; file: string; bytes: number }>;
  close(): Promise<void>;
}

export async function startDemoReceiver(dir: string): Promise<DemoReceiver> {
  const delivered: DemoReceiver['delivered'] = [];
  let n = 0;
  const server = new SMTPServer({
    name: 'mail.corp.local',
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', callback);
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const id = String(++n).padStart(4, '0');
        Promise.all(
          session.envelope.rcptTo.map(async ({ address }) => {
            const folder = join(dir, address);
            await mkdir(folder, { recursive: true });
            const file = join(folder, `${id}.eml`);
            await writeFile(file, raw);
            delivered.push({ recipient: address, file, bytes: raw.length });
          }),
        ).then(() => callback(), callback);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return { port, delivered, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
