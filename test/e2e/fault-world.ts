// A world for fault cases real servers will not produce on demand: a scriptable POP3 server as the
// provider, a scriptable smtp-server receiver as the company server, and one mailbox pass at a time.
import { after } from 'node:test';
import { createRuntime } from '../../src/app/runtime.js';
import { parseConfig } from '../../src/config/index.js';
import type { PassSummary } from '../../src/connector/mailbox-pass.js';
import { silentLogger } from '../../src/log.js';
import { startPop3Server } from '../../src/pop3/server/index.js';
import type { Pop3ServerHooks } from '../../src/pop3/server/types.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { type ReceiverHooks, startReceiver } from '../support/smtp-receiver.js';

export const PASSWORD = 'secret-pw';
export const mail = (n: number) =>
  Buffer.from(
    `Return-Path: <sender${n}@example.net>\r\nFrom: sender${n}@example.net\r\nTo: info@example.com\r\n` +
      `Subject: message ${n}\r\nMessage-ID: <m${n}@example.net>\r\n\r\n.leading dot\r\nbody ${n}\r\n`,
  );

export interface World {
  pop3: Awaited<ReturnType<typeof startPop3Server>>;
  receiver: Awaited<ReturnType<typeof startReceiver>>;
  pop3Hooks: Pop3ServerHooks;
  rcvHooks: ReceiverHooks;
  commands: string[];
  tmp: TempDir;
  fetch(extra?: string): Promise<PassSummary>;
}

const worlds: World[] = [];
after(async () => {
  for (const w of worlds) {
    await w.pop3.close();
    await w.receiver.stop();
    await w.tmp.remove();
  }
});

export async function world(
  messages: Buffer[],
  mailboxExtra = '',
  tls = 'none',
  delivery = '',
  /** The `state:` (and `spool:`) lines; default a folder in the world's temporary directory. */
  state?: (tmp: string) => string,
): Promise<World> {
  const commands: string[] = [];
  const pop3Hooks: Pop3ServerHooks = {};
  const rcvHooks: ReceiverHooks = {};
  const pop3 = await startPop3Server({
    users: { 'info@example.com': { password: PASSWORD, messages } },
    hooks: {
      onCommand: (ctx) => {
        commands.push(ctx.command);
        return pop3Hooks.onCommand?.(ctx);
      },
      get retrCutAfter() {
        return pop3Hooks.retrCutAfter;
      },
    },
  });
  const receiver = await startReceiver({
    onRcpt: (a, s) => rcvHooks.onRcpt?.(a, s),
    onData: (e, r) => rcvHooks.onData?.(e, r),
    onConnect: (a) => rcvHooks.onConnect?.(a),
  });
  const tmp = await makeTempDir('postbote-faults-');
  const w: World = {
    pop3,
    receiver,
    pop3Hooks,
    rcvHooks,
    commands,
    tmp,
    async fetch(extra = '') {
      const config = parseConfig(
        `
${state ? state(tmp.path) : `state: ${tmp.path}/state`}
target: { host: 127.0.0.1, port: ${receiver.port}, tls: none, helo: postbote.test, timeouts: { command: 5s } }
delivery: { retry: { initial: 1s, max: 2s }${delivery} }
mailboxes:
  - name: info
    host: 127.0.0.1
    port: ${pop3.port}
    tls: ${tls}
    user: info@example.com
    password: ${PASSWORD}
    timeouts: { command: 3s, idle: 3s }
    ${mailboxExtra}
    ${extra}
`,
        { file: 'test.yaml', baseDir: tmp.path },
      );
      const runtime = await createRuntime(config, silentLogger());
      try {
        const scheduler = new Scheduler(runtime.ctx, runtime.plans, config.scheduler, silentLogger());
        const [summary] = await scheduler.runAll();
        await scheduler.stop();
        return summary!;
      } finally {
        await runtime.close();
      }
    },
  };
  worlds.push(w);
  return w;
}

export const left = (w: World) => w.pop3.mailbox('info@example.com').length;

/**
 * The world's `info` mailbox as an entry under a config's `mailboxes:`, with `extra` lines (already
 * YAML, each indented as one of its keys).
 */
export function infoMailbox(w: World, ...extra: string[]): string {
  return [
    '  - name: info',
    '    host: 127.0.0.1',
    `    port: ${w.pop3.port}`,
    '    tls: none',
    '    user: info@example.com',
    `    password: ${PASSWORD}`,
    ...extra.map((line) => `    ${line}`),
  ].join('\n');
}
