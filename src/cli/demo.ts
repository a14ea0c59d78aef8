// `postbote demo`: the whole flow on this machine with nothing configured. An in-process POP3 server
// holds sample mail for a plain and a catch-all mailbox, a local SMTP server plays the company server,
// and Postbote runs between them twice: the second pass shows nothing is fetched or delivered again.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { createRuntime } from '../app/runtime.js';
import { LOCK_FILE, OWNER_FILE, StateLock } from '../app/state-lock.js';
import { parseConfig } from '../config/index.js';
import type { PassSummary } from '../connector/mailbox-pass.js';
import { startDemoReceiver } from '../demo/receiver.js';
import { catchAllSamples, infoSamples } from '../demo/samples.js';
import { createLogger } from '../log.js';
import { startPop3Server } from '../pop3/server/index.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { serveDemoWeb } from './demo-web.js';
import { EXIT_FAILED } from './exit.js';

const PASSWORD = 'demo-password';

function demoConfig(pop3Port: number, smtpPort: number): string {
  return `
state: ./state
target:
  host: 127.0.0.1
  port: ${smtpPort}
  tls: none            # the demo's local SMTP server has no certificate
  helo: postbote.demo.local
mailboxes:
  - name: info
    host: 127.0.0.1
    port: ${pop3Port}
    tls: none          # in-process demo server; real providers: tls or starttls
    user: info@example.com
    password: \${DEMO_PASSWORD}
    deliverTo: [info@corp.local, office@corp.local]
  - name: catchall
    host: 127.0.0.1
    port: ${pop3Port}
    tls: none
    user: catchall@example.com
    password: \${DEMO_PASSWORD}
    catchAll:
      domains: [example.com]
      rewriteDomain: corp.local
      fallback: postmaster@corp.local
`;
}

export async function demoCommand(o: { dir: string; web?: boolean }): Promise<void> {
  const dir = resolve(o.dir);
  // A demo already running in this folder keeps it: the lock is taken before anything is removed.
  const stateDir = join(dir, 'state');
  await mkdir(stateDir, { recursive: true });
  const lock = await StateLock.acquire(stateDir, { command: 'postbote demo', waitMs: 0 });
  try {
    await clearExceptLock(dir, stateDir);
  } catch (err) {
    lock.release();
    throw err;
  }
  const logger = createLogger({ level: process.env.POSTBOTE_LOG_LEVEL ?? 'warn' });
  const pop3 = await startPop3Server({
    users: {
      'info@example.com': { password: PASSWORD, messages: infoSamples() },
      'catchall@example.com': { password: PASSWORD, messages: catchAllSamples() },
    },
  });
  const receiver = await startDemoReceiver(join(dir, 'mail'));
  const config = parseConfig(demoConfig(pop3.port, receiver.port), {
    file: 'demo.yaml',
    baseDir: dir,
    env: { DEMO_PASSWORD: PASSWORD },
  });
  const runtime = await createRuntime(config, logger, { lock });
  try {
    console.log(`Postbote demo in ${dir}`);
    console.log(
      `  provider: POP3 server on 127.0.0.1:${pop3.port} with mailboxes info@ and catchall@example.com`,
    );
    console.log(
      `  company mail server: SMTP on 127.0.0.1:${receiver.port}, filing mail under ${join(dir, 'mail')}`,
    );
    const scheduler = new Scheduler(runtime.ctx, runtime.plans, config.scheduler, logger);
    const first = await scheduler.runAll();
    const second = await scheduler.runAll();
    if (!o.web) await scheduler.stop();
    console.log('\nFirst pass:');
    printPass(first);
    console.log('\nWhat arrived where:');
    for (const d of receiver.delivered) {
      console.log(`  ${d.recipient.padEnd(24)} ${relative(process.cwd(), d.file)} (${d.bytes} bytes)`);
    }
    console.log('\nRouting decisions for the catch-all mailbox:');
    // From the message log: once removed at the provider, records no longer stand for a listed message.
    const log = await runtime.store.searchMessages({ mailbox: 'catchall', limit: 100 });
    for (const rec of log.messages.reverse()) {
      for (const r of rec.recipients) console.log(`  ${rec.subject}: ${r.address} (${r.reason})`);
    }
    console.log('\nSecond pass (nothing new, nothing delivered twice):');
    printPass(second);
    const left = ['info@example.com', 'catchall@example.com'].map((u) => pop3.mailbox(u).length);
    console.log(`\nLeft on the provider: ${left[0]} + ${left[1]} messages (deleted after delivery).`);
    const ok =
      [...first, ...second].every((s) => s.ok && s.pending === 0) && second.every((s) => s.fetched === 0);
    if (!ok) process.exitCode = EXIT_FAILED;
    if (o.web) {
      await serveDemoWeb(runtime, scheduler, logger);
      await scheduler.stop();
    }
  } finally {
    await runtime.close();
    await receiver.close();
    await pop3.close();
  }
}

/** Empties the demo folder for a fresh start, all but the lock files this process holds. */
async function clearExceptLock(dir: string, stateDir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (join(dir, name) !== stateDir) await rm(join(dir, name), { recursive: true, force: true });
  }
  for (const name of await readdir(stateDir)) {
    if (name !== LOCK_FILE && name !== OWNER_FILE)
      await rm(join(stateDir, name), { recursive: true, force: true });
  }
}

function printPass(summaries: PassSummary[]): void {
  for (const s of summaries) {
    console.log(
      `  ${s.mailbox}: ${s.listed} listed, ${s.fetched} fetched, ${s.delivered} delivered, ` +
        `${s.quarantined} quarantined, ${s.removed} removed from the server${s.error ? ` - ${s.error.describe()}` : ''}`,
    );
  }
}
