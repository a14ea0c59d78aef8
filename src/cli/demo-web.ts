// `postbote demo --web`: after the demo's two passes, keep the service running with the web admin on
// 127.0.0.1:8025 and a one-time admin password printed here, until Ctrl-C.
import { randomBytes } from 'node:crypto';
import type { Runtime } from '../app/runtime.js';
import type { Logger } from '../log.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { hashPassword } from '../util/password.js';
import { startWeb } from '../web/index.js';

export const DEMO_WEB_LISTEN = '127.0.0.1:8025';

export async function serveDemoWeb(
  runtime: Runtime,
  scheduler: Scheduler,
  logger: Logger,
  listen = process.env.POSTBOTE_DEMO_WEB ?? DEMO_WEB_LISTEN,
): Promise<void> {
  const password = randomBytes(12).toString('base64url');
  const web = await startWeb(() => runtime.config, runtime, scheduler, logger, {
    web: { listen, users: [], apiTokens: [], sessionLifetime: 8 * 3_600_000, publicMetrics: false },
    extraUsers: [{ user: 'admin', passwordHash: await hashPassword(password) }],
  });
  if (!web) return;
  scheduler.start();
  console.log(`\nWeb admin: ${web.url}/`);
  console.log(`  user: admin   one-time password: ${password}`);
  console.log('  (valid until this demo stops; Ctrl-C stops it)');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await web.close();
}
