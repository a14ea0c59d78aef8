// What `postbote fetch` loads before it connects: every module costs start-up CPU (a one-shot fetch of
// an office's mailboxes is about a second), so packages only other commands or options need stay out.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Packages a POP3 fetch without filters, rules on attachments or a PostgreSQL state never uses. */
const NOT_FOR_FETCH = [
  'fastify', // web admin
  '@fastify/swagger',
  'prom-client', // metrics
  'pg', // postgres:// state
  'imapflow', // IMAP mailboxes
  'libmime',
  '@zone-eu/mailsplit', // attachment names, read only when a rule asks for them
  '@node-rs/argon2', // receive/web passwords
  'nodemailer',
  'smtp-server', // the receive connector
];

// Module hooks run on their own thread: each loaded file's URL is posted back over a port.
const HOOKS = `
let port;
export function initialize(data) { port = data.port; }
export async function load(url, context, next) {
  if (url.startsWith('file:')) port.postMessage(url);
  return next(url, context);
}`;

const MAIN = (hooks: string, entry: string) => `
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
const urls = new Set();
port1.on('message', (u) => urls.add(u));
register(${JSON.stringify(`file://${hooks}`)}, { data: { port: port2 }, transferList: [port2] });
const { createRequire } = await import('node:module');
await import(${JSON.stringify(`file://${entry}`)});
await new Promise((r) => setTimeout(r, 200));
for (const k of Object.keys(createRequire(import.meta.url).cache)) urls.add(k);
port1.close();
process.stdout.write(JSON.stringify([...urls]));`;

/** The files a fresh process has loaded once `entry` is imported (ESM and CommonJS). */
async function loadedBy(entry: string): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'postbote-startup-'));
  try {
    const hooks = join(dir, 'hooks.mjs');
    const main = join(dir, 'main.mjs');
    await writeFile(hooks, HOOKS);
    await writeFile(main, MAIN(hooks, entry));
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', main], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let text = '';
      child.stdout.on('data', (d) => {
        text += d;
      });
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`exit ${code}`))));
    });
    return JSON.parse(out) as string[];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function packagesOf(files: string[]): Set<string> {
  const names = new Set<string>();
  for (const f of files) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f);
    if (m) names.add(m[1]!);
  }
  return names;
}

test('postbote fetch loads none of the packages only other commands or options need', async () => {
  const files = await loadedBy(join(ROOT, 'src/cli/fetch.ts'));
  const packages = packagesOf(files);
  // The probe sees what is loaded: the fetch's own needs are there.
  for (const needed of ['yaml', 'zod', 'pino', 'better-sqlite3']) assert.ok(packages.has(needed), needed);
  const extra = NOT_FOR_FETCH.filter((p) => packages.has(p));
  assert.deepEqual(extra, [], `loaded by postbote fetch: ${extra.join(', ')}`);
  // The scanner clients (and node:http) load with a configuration that has a filters section: ~20 ms.
  const filters = files.filter((f) => f.includes('/src/filters/') && !/header-rewrite|types/.test(f));
  assert.deepEqual(filters, []);
  // OAuth2 sign-in and its token store load for a mailbox with auth: oauth2.
  assert.deepEqual(
    files.filter((f) => f.includes('/src/oauth/')),
    [],
  );
});
