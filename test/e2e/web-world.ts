// A running Postbote for the web tests: the in-process POP3 server as the provider, an smtp-server
// receiver as the company server (refusing one kind of content with 550, so there is something to quarantine),
// the runtime and scheduler as `postbote run` builds them, and the web server with one admin user.
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { createRuntime, type Runtime } from '../../src/app/runtime.js';
import { parseConfig, type WebConfig } from '../../src/config/index.js';
import { type Logger, silentLogger } from '../../src/log.js';
import { type Pop3Server, startPop3Server } from '../../src/pop3/server/index.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { hashPassword } from '../../src/util/password.js';
import { buildWebServer, startWebServer, type WebDeps, type WebServer } from '../../src/web/index.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { type Receiver, startReceiver } from '../support/smtp-receiver.js';

export const ADMIN = { user: 'admin', password: 'correct horse battery staple' };
export const API_TOKEN = 'test-token-0123456789abcdef';
export const MAILBOX_PASSWORD = 'mailbox-secret-pw';
/** sha256("test-token-0123456789abcdef") */
const API_TOKEN_SHA256 = '67e95073ea7d2f92f361b2b3a590935f82b670e8c5d7d96ac622282e2f7accc3';

export function mail(n: number, to = 'info@example.com', subject = `message ${n}`): Buffer {
  return Buffer.from(
    `Return-Path: <sender${n}@example.net>\r\nFrom: Sender ${n} <sender${n}@example.net>\r\nTo: ${to}\r\n` +
      `Subject: ${subject}\r\nMessage-ID: <m${n}@example.net>\r\nDate: Mon, 1 Sep 2025 10:00:00 +0000\r\n\r\nbody ${n}\r\n`,
  );
}

export interface WebWorld {
  pop3: Pop3Server;
  receiver: Receiver;
  runtime: Runtime;
  scheduler: Scheduler;
  tmp: TempDir;
  close(): Promise<void>;
}

export async function webWorld(messages: Buffer[] = []): Promise<WebWorld> {
  const tmp = await makeTempDir('postbote-web-');
  const pop3 = await startPop3Server({
    users: { 'info@example.com': { password: MAILBOX_PASSWORD, messages } },
  });
  // Content the company server refuses for info@ (so it is quarantined), and takes for anyone else.
  const receiver = await startReceiver({
    onData: (envelope, raw) =>
      envelope.to.includes('info@corp.local') && raw.includes('Subject: refuse me')
        ? { code: 550, message: '5.7.0 content rejected by policy' }
        : undefined,
  });
  const config = parseConfig(
    `
state: ${tmp.path}/state
target: { host: 127.0.0.1, port: ${receiver.port}, tls: none, helo: postbote.test }
scheduler: { interval: 1h }
mailboxes:
  - name: info
    host: 127.0.0.1
    port: ${pop3.port}
    tls: none
    user: info@example.com
    password: \${PW}
    deliverTo: [info@corp.local]
web:
  apiTokens: [{ name: ci, tokenHash: ${API_TOKEN_SHA256} }]
`,
    { file: 'postbote.yaml', baseDir: tmp.path, env: { PW: MAILBOX_PASSWORD } },
  );
  const logger = silentLogger();
  const runtime = await createRuntime(config, logger);
  const scheduler = new Scheduler(runtime.ctx, runtime.plans, config.scheduler, logger);
  return {
    pop3,
    receiver,
    runtime,
    scheduler,
    tmp,
    async close() {
      await scheduler.stop();
      await runtime.close();
      await receiver.stop();
      await pop3.close();
      await tmp.remove();
    },
  };
}

async function deps(w: WebWorld) {
  const config = w.runtime.config;
  return {
    config: () => config,
    web: config.web!,
    store: w.runtime.store,
    spool: w.runtime.spool,
    target: w.runtime.target,
    scheduler: w.scheduler,
    logger: silentLogger(),
    extraUsers: [{ user: ADMIN.user, passwordHash: await hashPassword(ADMIN.password) }],
  };
}

/** The web server over `w` (not listening, for inject); `o` replaces parts of what it is built with. */
export async function buildFor(
  w: WebWorld,
  o: {
    logger?: Logger;
    checkMailbox?: WebDeps['checkMailbox'];
    web?: Partial<WebConfig>;
    /** The configuration in force, read on every request (a reload swaps it). */
    config?: WebDeps['config'];
  } = {},
) {
  const d = await deps(w);
  return buildWebServer({ ...d, ...o, web: { ...d.web, ...o.web } });
}

export async function startFor(
  w: WebWorld,
  listen = '127.0.0.1:0',
  o: { requestTimeoutMs?: number } = {},
): Promise<WebServer> {
  const d = await deps(w);
  return startWebServer({ ...d, web: { ...d.web, listen }, ...o });
}

/** The login form as a browser sends it: the form's token and cookie, then the post (from `ip`, if given). */
export async function login(
  app: FastifyInstance,
  password = ADMIN.password,
  user = ADMIN.user,
  o: { next?: string; ip?: string } = {},
) {
  const form = await app.inject({ method: 'GET', url: '/login' });
  const token = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
  const formCookie = String(form.headers['set-cookie']).split(';')[0]!;
  return app.inject({
    method: 'POST',
    url: '/login',
    headers: { cookie: formCookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ user, password, _csrf: token, next: o.next ?? '/' }).toString(),
    ...(o.ip ? { remoteAddress: o.ip } : {}),
  });
}

/** A logged-in admin: the session cookie and the page's CSRF token. */
export async function session(app: FastifyInstance): Promise<{ cookie: string; csrf: string }> {
  const res = await login(app);
  assert.equal(res.statusCode, 303, res.body);
  const cookie = [res.headers['set-cookie']].flat().find((c) => String(c).startsWith('postbote_session='))!;
  const page = await app.inject({ method: 'GET', url: '/', headers: { cookie: cookie.split(';')[0]! } });
  const csrf = /name="csrf-token" content="([^"]+)"/.exec(page.body)?.[1] ?? '';
  assert.ok(csrf.length > 20);
  return { cookie: cookie.split(';')[0]!, csrf };
}
