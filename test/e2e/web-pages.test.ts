// What the admin reads on the pages, through fastify's inject: encoded subjects and names decoded, the
// page in the reader's language (Accept-Language, or web.language for everyone), durations and sizes
// as written, a dashboard that does not call a paused mailbox fine, buttons named after their mailbox.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { API_TOKEN, buildFor, session, type WebWorld, webWorld } from './web-world.js';

const SUBJECT_RAW = '=?UTF-8?Q?Anfrage_zu_Ihrem_Angebot_f=C3=BCr_M=C3=A4rz?=';
const SUBJECT = 'Anfrage zu Ihrem Angebot für März';
const NAME_RAW = '=?ISO-8859-1?Q?J=FCrgen_M=FCller?=';
const NAME = 'Jürgen Müller';
// Emoji and dingbats need a colour-emoji font that an admin's server or browser may lack.
const EMOJI = /[\u{1F000}-\u{1FAFF}\u{2600}-\u{27BF}]|\u{FE0F}/u;

function encoded(n: number, subject: string): Buffer {
  return Buffer.from(
    `Return-Path: <jm@example.net>\r\nFrom: ${NAME_RAW} <jm@example.net>\r\nTo: info@example.com\r\n` +
      `Subject: ${subject}\r\nMessage-ID: <e${n}@example.net>\r\nDate: Mon, 1 Sep 2025 10:00:00 +0000\r\n\r\nbody\r\n`,
  );
}

/** The text of an HTML page without tags, entities decoded (enough for these assertions). */
function text(body: string): string {
  return body
    .replace(/<[^>]*>/g, ' ')
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/\s+/g, ' ');
}

describe('web pages as the admin reads them', () => {
  let w: WebWorld;
  let app: FastifyInstance;
  let cookie: string;
  const get = async (url: string, headers: Record<string, string> = {}) => {
    const res = await app.inject({ method: 'GET', url, headers: { cookie, ...headers } });
    assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
    return res.body;
  };

  before(async () => {
    // The second is refused by the company server (the receiver refuses "Subject: refuse me"), so it
    // is quarantined and its headers stay readable from the spool.
    w = await webWorld([encoded(1, SUBJECT_RAW), encoded(2, `refuse me ${SUBJECT_RAW}`)]);
    ({ app } = await buildFor(w));
    await app.ready();
    await w.scheduler.runNow('info');
    ({ cookie } = await session(app));
  });
  after(async () => {
    await app.close();
    await w.close();
  });

  test('encoded subjects and names are decoded in the log, the queue, the message page and its title', async () => {
    const log = await get('/messages');
    assert.ok(text(log).includes(SUBJECT), 'message log shows the decoded subject');
    assert.doesNotMatch(log, /=\?UTF-8\?Q\?/i);
    const queue = await get('/queue');
    assert.ok(text(queue).includes(`refuse me ${SUBJECT}`), 'queue shows the decoded subject');
    const id = /href="\/messages\/(\d+)"[^>]*>(?:<strong>)?refuse me/.exec(queue)?.[1];
    assert.ok(id, 'the queue links the quarantined message');
    const page = await get(`/messages/${id}`);
    const title = /<title>([^<]*)<\/title>/.exec(page)?.[1] ?? '';
    assert.ok(text(title).includes(`refuse me ${SUBJECT}`), `page title: ${title}`);
    const h1 = /<h1>([\s\S]*?)<\/h1>/.exec(page)?.[1] ?? '';
    assert.ok(text(h1).includes(`refuse me ${SUBJECT}`), `heading: ${h1}`);
    // The header list: the From display name decoded, the Subject too.
    const headers = /<table class="headers[^"]*">([\s\S]*?)<\/table>/.exec(page)?.[1] ?? '';
    assert.ok(text(headers).includes(`${NAME} <jm@example.net>`), 'From display name decoded');
    assert.ok(text(headers).includes(`refuse me ${SUBJECT}`), 'Subject header decoded');
  });

  test('Accept-Language: de gives the German page, English otherwise', async () => {
    const de = await get('/', { 'accept-language': 'de-DE,de;q=0.9,en;q=0.8' });
    assert.match(de, /<html lang="de">/);
    assert.match(text(de), /Übersicht/);
    assert.match(text(de), /Postfächer/);
    assert.match(de, /aria-label="Jetzt abrufen: info"/);
    assert.doesNotMatch(text(de), /Message log|Configuration|Log out/);
    const en = await get('/', { 'accept-language': 'fr-CH, en;q=0.5, de;q=0.4' });
    assert.match(en, /<html lang="en">/);
    assert.match(text(en), /Dashboard/);
    const none = await get('/');
    assert.match(none, /<html lang="en">/);
    // Every page and the login form answer in German too.
    for (const url of ['/messages', '/queue', '/config', '/mailboxes/info']) {
      assert.match(await get(url, { 'accept-language': 'de' }), /<html lang="de">/, url);
    }
    const login = await app.inject({ method: 'GET', url: '/login', headers: { 'accept-language': 'de' } });
    assert.match(text(login.body), /Anmelden/);
    assert.match(text(login.body), /Passwort/);
  });

  test('web.language overrides what the browser asks for', async () => {
    const { app: en } = await buildFor(w, { web: { language: 'en' } });
    const { app: de } = await buildFor(w, { web: { language: 'de' } });
    try {
      const s = await session(en);
      const page = await en.inject({
        method: 'GET',
        url: '/',
        headers: { cookie: s.cookie, 'accept-language': 'de' },
      });
      assert.match(page.body, /<html lang="en">/);
      assert.match(text(page.body), /Dashboard/);
      const login = await de.inject({ method: 'GET', url: '/login', headers: { 'accept-language': 'en' } });
      assert.match(login.body, /<html lang="de">/);
      assert.match(text(login.body), /Anmelden/);
    } finally {
      await en.close();
      await de.close();
    }
  });

  test('the configuration page shows durations and sizes as written, not milliseconds', async () => {
    const page = text(await get('/config'));
    assert.match(page, /interval: 1h/);
    assert.match(page, /maxMessageSize: 100MB/);
    assert.match(page, /sessionLifetime: 8h/);
    assert.doesNotMatch(page, /3600000|104857600|28800000/);
  });

  test('buttons name their mailbox; no emoji; a paused mailbox is not "all fine"', async () => {
    const dashboard = await get('/');
    assert.match(dashboard, /<button[^>]*aria-label="Fetch now: info"/);
    const mailbox = await get('/mailboxes/info');
    assert.match(mailbox, /<button[^>]*aria-label="Fetch now: info"/);
    assert.match(mailbox, /<button[^>]*aria-label="Pause: info"/);
    for (const url of ['/', '/messages', '/queue', '/config', '/mailboxes/info']) {
      const found = EMOJI.exec(text(await get(url)));
      assert.equal(found, null, `${url} contains ${found?.[0]}`);
    }
    const paused = await app.inject({
      method: 'POST',
      url: '/api/mailboxes/info/pause',
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    assert.ok(paused.statusCode < 300, paused.body);
    try {
      const after = text(await get('/'));
      assert.doesNotMatch(after, /all fine/);
      assert.match(after, /1 paused/);
    } finally {
      await app.inject({
        method: 'POST',
        url: '/api/mailboxes/info/resume',
        headers: { authorization: `Bearer ${API_TOKEN}` },
      });
    }
  });
});
