// What the web admin shows about a record beyond its routing (issues 11, 13, 16): the earlier copy a
// duplicate points to, the spam/virus filter's verdict in English and German, the log line of an admin
// action with who did it, and the configuration in force after a reload (SIGHUP), filters included.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { type Config, parseConfig } from '../../src/config/index.js';
import type { FilterVerdict } from '../../src/filters/types.js';
import type { MessageRecord } from '../../src/store/types.js';
import { retry } from '../../src/web/actions.js';
import { buildFor, session, type WebWorld, webWorld } from './web-world.js';

/** The text of an HTML page without tags, entities decoded. */
function text(body: string): string {
  return body
    .replace(/<[^>]*>/g, ' ')
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/\s+/g, ' ');
}

const SPAM: FilterVerdict = {
  verdict: 'spam',
  action: 'quarantine',
  results: [
    {
      scanner: 'rspamd 127.0.0.1:11333',
      type: 'rspamd',
      status: 'spam',
      score: 15,
      required: 15,
      symbols: ['GTUBE', 'MISSING_DATE'],
      action: 'reject',
    },
    { scanner: 'clamd 127.0.0.1:3310', type: 'clamd', status: 'clean' },
  ],
  edits: { add: [], remove: [] },
  summary: 'spam (rspamd 127.0.0.1:11333: spam 15.0/15.0, reject, GTUBE MISSING_DATE): quarantined',
  notify: false,
  at: Date.UTC(2026, 10, 29, 10),
};

const VIRUS: FilterVerdict = {
  verdict: 'virus',
  action: 'quarantine',
  results: [{ scanner: 'clamd 127.0.0.1:3310', type: 'clamd', status: 'infected', virus: 'Eicar-Signature' }],
  edits: { add: [], remove: [] },
  summary: 'virus (clamd 127.0.0.1:3310: Eicar-Signature): quarantined',
  notify: true,
  at: Date.UTC(2026, 10, 29, 10),
};

const UNSCANNED: FilterVerdict = {
  verdict: 'unscanned',
  action: 'deliver',
  results: [
    { scanner: 'spamd 127.0.0.1:783', type: 'spamd', status: 'skipped', reason: 'larger than maxScanSize' },
  ],
  edits: { add: [], remove: [] },
  summary: 'unscanned (spamd 127.0.0.1:783: not scanned, larger than maxScanSize): delivered',
  notify: false,
  at: Date.UTC(2026, 10, 29, 10),
};

describe('web records: duplicates, filter verdicts, action log, reloaded configuration', () => {
  let w: WebWorld;
  let app: FastifyInstance;
  let cookie: string;
  let csrf: string;
  const lines: string[] = [];
  let current: Config;
  const ids: Record<string, number> = {};

  const get = async (url: string, headers: Record<string, string> = {}) => {
    const res = await app.inject({ method: 'GET', url, headers: { cookie, ...headers } });
    assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
    return res.body;
  };

  /** A record as a pass leaves it: spooled, then the filter's verdict, or final as a duplicate. */
  async function add(n: number, o: { filter?: FilterVerdict; duplicateOf?: number }): Promise<MessageRecord> {
    const store = w.runtime.store;
    const rec = await store.addSpooled({
      mailbox: 'info',
      uid: `u${n}`,
      spoolKey: null,
      size: 100 + n,
      sha256: `${n}`.padStart(64, '0'),
      messageId: `<r${n}@example.net>`,
      sender: `s${n}@example.net`,
      subject: `record ${n}`,
      recipients: [{ address: 'info@corp.local', status: 'pending', reason: 'deliverTo' }],
      fetchedAt: Date.UTC(2026, 10, 29, 9, n),
    });
    if (o.filter) {
      const state = o.filter.action === 'quarantine' ? 'quarantined' : 'deferred';
      await store.recordFilter(rec.id, o.filter, rec.recipients);
      return store.recordAttempt(
        rec.id,
        {
          state,
          recipients: rec.recipients,
          nextAttemptAt: state === 'deferred' ? Date.UTC(2030, 0, 1) : null,
          reason: `filter: ${o.filter.summary}`,
          spoolKey: null,
          countsAsAttempt: false,
        },
        { at: Date.UTC(2026, 10, 29, 10), outcome: state, detail: o.filter.summary, recipients: [] },
      );
    }
    const of = o.duplicateOf!;
    const reason = `duplicate: info@corp.local already got <r1@example.net> (duplicate of #${of}, mailbox info, uid u1, 2026-11-29T09:01:00.000Z)`;
    return store.recordAttempt(
      rec.id,
      {
        state: 'duplicate',
        recipients: [{ address: 'info@corp.local', status: 'duplicate', reason, duplicateOf: of }],
        nextAttemptAt: null,
        reason: `duplicate for every recipient: ${reason}`,
        spoolKey: null,
        countsAsAttempt: false,
      },
      { at: Date.UTC(2026, 10, 29, 10), outcome: 'duplicate', detail: reason, recipients: [] },
    );
  }

  before(async () => {
    w = await webWorld();
    current = w.runtime.config;
    const logger = pino({ level: 'info', base: undefined }, { write: (l: string) => lines.push(l) });
    ({ app } = await buildFor(w, { logger, config: () => current }));
    await app.ready();
    ({ cookie, csrf } = await session(app));
    ids.spam = (await add(1, { filter: SPAM })).id;
    ids.virus = (await add(2, { filter: VIRUS })).id;
    ids.unscanned = (await add(3, { filter: UNSCANNED })).id;
    ids.duplicate = (await add(4, { duplicateOf: ids.spam })).id;
  });
  after(async () => {
    await app.close();
    await w.close();
  });

  test('a duplicate links the earlier copy in the message log and on its page', async () => {
    const link = new RegExp(`<a href="/messages/${ids.spam}"[^>]*>duplicate of #${ids.spam}</a>`);
    assert.match(await get('/messages'), link);
    assert.match(await get(`/messages/${ids.duplicate}`), link);
    const de = await get(`/messages/${ids.duplicate}`, { 'accept-language': 'de' });
    assert.match(de, new RegExp(`<a href="/messages/${ids.spam}"[^>]*>Duplikat von #${ids.spam}</a>`));
  });

  test('the message page shows the verdict, each scanner and the action, in English and German', async () => {
    const spam = text(await get(`/messages/${ids.spam}`));
    assert.match(spam, /Spam and virus filter spam/);
    assert.match(spam, /rspamd 127\.0\.0\.1:11333 spam score 15 of 15 .*rules GTUBE, MISSING_DATE/);
    assert.match(spam, /clamd 127\.0\.0\.1:3310 clean/);
    assert.match(spam, /Action quarantined/);
    const virus = text(await get(`/messages/${ids.virus}`));
    assert.match(virus, /Spam and virus filter virus/);
    assert.match(virus, /clamd 127\.0\.0\.1:3310 virus Eicar-Signature/);
    assert.match(virus, /postmaster told/);
    const unscanned = text(await get(`/messages/${ids.unscanned}`));
    assert.match(unscanned, /Spam and virus filter not scanned/);
    assert.match(unscanned, /spamd 127\.0\.0\.1:783 not scanned: larger than maxScanSize/);
    assert.match(unscanned, /Action delivered/);

    const de = text(await get(`/messages/${ids.spam}`, { 'accept-language': 'de' }));
    assert.match(de, /Spam- und Virenfilter Spam/);
    assert.match(de, /Punkte 15 von 15 .*Regeln GTUBE, MISSING_DATE/);
    assert.match(de, /Maßnahme in Quarantäne/);
    const deSkip = text(await get(`/messages/${ids.unscanned}`, { 'accept-language': 'de' }));
    assert.match(deSkip, /nicht geprüft: larger than maxScanSize/);
    // A message no filter looked at has no verdict section.
    assert.doesNotMatch(text(await get(`/messages/${ids.duplicate}`)), /Spam and virus filter/);
  });

  test('the message log shows a small verdict badge per filtered message', async () => {
    const log = await get('/messages');
    for (const [id, kind] of [
      [ids.spam, 'spam'],
      [ids.virus, 'virus'],
      [ids.unscanned, 'unscanned'],
    ] as const) {
      const row = new RegExp(`href="/messages/${id}">record[\\s\\S]*?</tr>`).exec(log)?.[0] ?? '';
      assert.match(row, new RegExp(`class="badge badge-filter-${kind}"`), `row of ${kind}: ${row}`);
    }
    const de = text(await get('/messages', { 'accept-language': 'de' }));
    assert.match(de, /Virus/);
    assert.match(de, /nicht geprüft/);
  });

  test('an admin action is logged with the user and the message, values from outside cut', async () => {
    lines.length = 0;
    const long = `x${'y'.repeat(400)}@corp.local`;
    const res = await app.inject({
      method: 'POST',
      url: `/api/messages/${ids.spam}/release`,
      headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      payload: JSON.stringify({ recipient: long.slice(0, 300) }),
    });
    assert.equal(res.statusCode, 400, res.body);
    const ok = await app.inject({
      method: 'DELETE',
      url: `/api/messages/${ids.virus}`,
      headers: { cookie, 'x-csrf-token': csrf },
    });
    assert.equal(ok.statusCode, 200, ok.body);
    const pause = await app.inject({
      method: 'POST',
      url: '/api/mailboxes/info/pause',
      headers: { cookie, 'x-csrf-token': csrf },
    });
    assert.equal(pause.statusCode, 202, pause.body);
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const del = logged.find((l) => l.action === 'delete');
    assert.ok(del, lines.join(''));
    assert.equal(del.level, 30);
    assert.equal(del.user, 'admin');
    assert.equal(del.id, ids.virus);
    assert.equal(del.mailbox, 'info');
    assert.match(String(del.msg), new RegExp(`message ${ids.virus}.*deleted by admin`));
    const paused = logged.find((l) => l.action === 'pause');
    assert.equal(paused?.user, 'admin');
    assert.equal(paused?.mailbox, 'info');
    // A refused action changes nothing and is not logged as done.
    assert.equal(logged.filter((l) => l.action === 'release').length, 0);

    // A user name from outside (an API token's name, an OS user) is cut and its control characters escaped.
    lines.length = 0;
    const logger = pino({ level: 'info', base: undefined }, { write: (l: string) => lines.push(l) });
    const deps = { ...w.runtime, scheduler: w.scheduler, now: Date.now, logger };
    await retry(deps, ids.unscanned!, `evil\nFAKE LINE ${'u'.repeat(500)}`);
    const line = JSON.parse(lines[0]!) as { user: string; msg: string; action: string };
    assert.equal(line.action, 'retry');
    assert.ok(line.user.startsWith('evil\\nFAKE LINE u'), line.user);
    assert.match(line.user, /… \(\d+ chars\)$/, 'cut, with the length it had');
    assert.ok(line.user.length < 240, `${line.user.length} characters`);
    assert.doesNotMatch(line.msg, /\n/);
  });

  test('the JSON twin of the message page carries the verdict', async () => {
    const res = await app.inject({ method: 'GET', url: `/api/messages/${ids.spam}`, headers: { cookie } });
    const body = res.json() as {
      message: { filter?: { verdict: string; results: Array<{ score?: number; symbols?: string[] }> } };
    };
    assert.equal(body.message.filter?.verdict, 'spam');
    assert.equal(body.message.filter?.results[0]?.score, 15);
    assert.deepEqual(body.message.filter?.results[0]?.symbols, ['GTUBE', 'MISSING_DATE']);
  });

  test('after a reload the configuration page and the mailbox list show the new configuration', async () => {
    const before = text(await get('/config'));
    assert.doesNotMatch(before, /filters:/);
    current = parseConfig(
      `
state: ${w.tmp.path}/state
target: { host: 127.0.0.1, port: 2525, tls: none, helo: postbote.test }
filters:
  scanners: [{ type: rspamd, host: 127.0.0.1 }, { type: clamd, socket: /run/clamav/clamd.ctl }]
  timeout: 5s
  maxScanSize: 10MB
  spam: { action: quarantine }
mailboxes:
  - { name: info, host: 127.0.0.1, tls: none, user: info@example.com, password: "s3cret-pw", deliverTo: [info@corp.local] }
  - { name: sales, host: 127.0.0.1, tls: none, user: sales@example.com, password: "s3cret-pw", deliverTo: [sales@corp.local] }
`,
      { file: 'postbote.yaml', baseDir: w.tmp.path, env: {} },
    );
    const after = await get('/config');
    const shown = text(after);
    assert.match(shown, /filters:/);
    assert.match(shown, /timeout: 5s/);
    assert.match(shown, /maxScanSize: 10MB/);
    assert.match(shown, /socket: \/run\/clamav\/clamd\.ctl/);
    assert.match(shown, /name: sales/);
    assert.doesNotMatch(after, /s3cret-pw/);
    assert.match(await get('/messages'), /<option>sales<\/option>/);
    const api = await app.inject({ method: 'GET', url: '/api/config', headers: { cookie } });
    assert.equal((api.json() as { mailboxes: unknown[] }).mailboxes.length, 2);
  });
});
