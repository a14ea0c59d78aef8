// The web admin in a real browser (Debian's Chromium, driven by playwright-core; no browser download):
// log in, see the mailboxes of a running instance fed by a real POP3 server, press "fetch now", watch the
// new message appear in the log (live, by server-sent events) with its routing reason, release a
// quarantined message; every page on a desktop and a phone, nothing wider than the screen, screenshots
// in a temporary folder.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import type { WebServer } from '../../src/web/index.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { ADMIN, mail, startFor, type WebWorld, webWorld } from './web-world.js';

const CHROMIUM = '/usr/bin/chromium';
const LONG_WORD = 'Rechnungsnummer-2025-000123456789-ABCDEFGHIJKLMNOPQRSTUVWXYZ-abcdefghijklmnop';
/**
 * Evaluated in the page (a string: this project's TypeScript has no DOM types): how much wider the
 * document is than the screen, elements reaching past its right edge, and table cells squeezed so
 * narrow that words break a letter per line.
 */
const FIT = `(() => {
  const vw = window.innerWidth;
  const name = (e) => e.tagName.toLowerCase() + (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/ +/).join('.') : '');
  const shown = [...document.querySelectorAll('body *')].filter((e) => {
    const r = e.getBoundingClientRect();
    // 1 px squares are visually hidden on purpose (.sr-only, a stacked table's column names)
    return r.width > 1 && r.height > 1 && !e.closest('.sr-only');
  });
  return {
    overflow: document.documentElement.scrollWidth - vw,
    wide: shown.filter((e) => e.getBoundingClientRect().right > vw + 1).slice(0, 5)
      .map((e) => name(e) + ' right=' + Math.round(e.getBoundingClientRect().right)),
    narrow: shown.filter((e) => /^(TD|TH)$/.test(e.tagName) && e.textContent.trim().length > 3 && e.getBoundingClientRect().width < 64)
      .slice(0, 5).map((e) => name(e) + ' width=' + Math.round(e.getBoundingClientRect().width)),
  };
})()`;
// Generous: a loaded 2-core CI machine starts Chromium and runs passes slowly.
const WAIT_MS = 30_000;

describe('web admin in Chromium', { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is not installed` }, () => {
  let w: WebWorld;
  let web: WebServer;
  let browser: BrowserContext;
  let profile: TempDir;
  let page: Page;
  let shots: TempDir;
  const problems: string[] = [];

  before(async () => {
    w = await webWorld([mail(1, 'info@example.com', 'Welcome aboard')]);
    const firstPass = new Promise<void>((resolve) => {
      const stop = w.scheduler.watch({
        onPass: () => {
          stop();
          resolve();
        },
      });
    });
    web = await startFor(w);
    w.scheduler.start();
    await firstPass;
    profile = await makeTempDir('postbote-chromium-');
    browser = await chromium.launchPersistentContext(profile.path, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      locale: 'en-US',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(WAIT_MS);
    page.on('console', (m) => {
      // The wrong password on purpose answers 401; anything else is a problem.
      if (m.type() === 'error' && !m.location().url.endsWith('/login'))
        problems.push(`${m.text()} ${m.location().url}`);
    });
    page.on('pageerror', (e) => problems.push(e.message));
    // Kept after the run (the path is printed), outside the repository.
    shots = await makeTempDir('postbote-web-screens-');
  });

  after(async () => {
    await browser?.close();
    await web?.close();
    await w?.close();
    await profile?.remove();
  });

  test('logs in and sees the running mailboxes', async () => {
    await page.goto(`${web.url}/`);
    assert.match(page.url(), /\/login\?next=%2F$/);
    await page.getByLabel('User').fill(ADMIN.user);
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong user name or password' }).waitFor();
    await page.getByLabel('User').fill(ADMIN.user);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    const row = page.locator('tr', { has: page.getByRole('link', { name: 'info', exact: true }) });
    await row.getByText('ok', { exact: true }).waitFor();
    await row.getByText('1 fetched, 1 delivered').waitFor();
  });

  test('"fetch now" brings a new message into the log, live, with its routing reason', async () => {
    w.pop3.maildrop('info@example.com').add(mail(3, 'info@example.com', 'Quarterly report'));
    w.pop3.maildrop('info@example.com').add(mail(4, 'info@example.com', 'refuse me'));
    await page.goto(`${web.url}/messages`);
    await page.getByText('Welcome aboard').waitFor();
    assert.equal(await page.getByText('Quarterly report').count(), 0);
    // The button lives on the dashboard; the log page updates itself from the event stream.
    const dashboard = await browser.newPage();
    await dashboard.goto(`${web.url}/`);
    await dashboard
      .locator('tr', { has: dashboard.getByRole('link', { name: 'info', exact: true }) })
      .getByRole('button', { name: 'Fetch now' })
      .click();
    await dashboard.getByRole('status').filter({ hasText: 'Fetching info' }).waitFor();
    await dashboard.close();
    await page.getByRole('link', { name: 'Quarterly report' }).click();
    await page.getByRole('heading', { name: /Quarterly report/ }).waitFor();
    await page
      .locator('.routing-reason', { hasText: 'fixed recipient of this mailbox (deliverTo)' })
      .waitFor();
    await page.getByText('250').first().waitFor();
  });

  test('releases a quarantined message to another recipient', async () => {
    await page.goto(`${web.url}/queue`);
    const item = page.locator('.queue-item', { hasText: 'refuse me' });
    await item.getByText('5.7.0 content rejected by policy').waitFor();
    await item.getByLabel('Release to').fill('postmaster@corp.local');
    await item.getByRole('button', { name: 'Release' }).click();
    await page.getByRole('status').filter({ hasText: 'Released' }).waitFor();
    await w.receiver.waitFor(3, WAIT_MS);
    assert.equal(w.receiver.byRecipient('postmaster@corp.local').length, 1);
    await page.getByText('Nothing is quarantined.').waitFor();
    await page.goto(`${web.url}/messages?q=refuse`);
    await page.getByRole('link', { name: 'refuse me' }).click();
    await page
      .locator('.routing-reason', { hasText: `released by ${ADMIN.user} to postmaster@corp.local` })
      .waitFor();
  });

  test('every page fits a desktop and a phone (360–430 px) without errors; screenshots saved', async (t) => {
    // Long words and encoded headers are what broke the phone layout in the field.
    const maildrop = w.pop3.maildrop('info@example.com');
    maildrop.add(
      mail(5, 'info@example.com', `=?UTF-8?Q?Anfrage_zu_Ihrem_Angebot_f=C3=BCr_M=C3=A4rz?= ${LONG_WORD}`),
    );
    maildrop.add(mail(6, 'info@example.com', `refuse me ${LONG_WORD}`));
    await w.scheduler.runNow('info');
    await page.goto(`${web.url}/messages?q=refuse`);
    const quarantined = await page.getByRole('link', { name: /refuse me Rechnung/ }).getAttribute('href');
    const pages = ['/', '/mailboxes/info', '/messages', quarantined!, '/queue', '/config', '/login'];
    t.diagnostic(`screenshots in ${shots.path}`);
    // German words are longer: the same pages again with the browser asking for German.
    for (const lang of ['en', 'de']) {
      // Playwright's own Accept-Language (the context's locale) wins over extra headers: set it per request.
      await page.unroute('**/*');
      await page.route('**/*', (route) =>
        route.continue({ headers: { ...route.request().headers(), 'accept-language': lang } }),
      );
      for (const [i, url] of pages.entries()) {
        const name = `${lang}-${i}-${url.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '') || 'dashboard'}`;
        await page.setViewportSize({ width: 1280, height: 900 });
        await page.goto(`${web.url}${url}`);
        await page.locator(`html[lang="${lang}"] h1`).first().waitFor();
        await page.screenshot({ path: join(shots.path, `${name}-desktop.png`), fullPage: true });
        for (const width of [360, 390, 430]) {
          await page.setViewportSize({ width, height: 844 });
          await page.reload();
          await page.locator('h1').first().waitFor();
          const fit = (await page.evaluate(FIT)) as { overflow: number; wide: string[]; narrow: string[] };
          const where = `${lang} ${url} at ${width}px`;
          assert.ok(fit.overflow <= 0, `${where} is ${fit.overflow}px wider than the screen`);
          assert.deepEqual(fit.wide, [], `${where}: elements wider than the screen`);
          assert.deepEqual(fit.narrow, [], `${where}: cells too narrow to read`);
          if (width === 390)
            await page.screenshot({ path: join(shots.path, `${name}-phone.png`), fullPage: true });
        }
      }
    }
    await page.unroute('**/*');
    assert.deepEqual(problems, [], 'no script errors or CSP violations');
  });

  test('buttons say which mailbox they act on', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${web.url}/`);
    await page.getByRole('button', { name: 'Fetch now: info', exact: true }).waitFor();
    await page.goto(`${web.url}/mailboxes/info`);
    await page.getByRole('button', { name: 'Fetch now: info', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Pause: info', exact: true }).waitFor();
  });
});
