// The web admin in a real browser (Debian's Chromium, driven by playwright-core; no browser download):
// log in, see the mailboxes of a running instance fed by a real POP3 server, press "fetch now", watch the
// new message appear in the log (live, by server-sent events) with its routing reason, release a
// quarantined message, and save screenshots of the dashboard under test-artifacts/.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import type { WebServer } from '../../src/web/index.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { ROOT } from './helpers.js';
import { ADMIN, mail, startFor, type WebWorld, webWorld } from './web-world.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts');
// Generous: a loaded 2-core CI machine starts Chromium and runs passes slowly.
const WAIT_MS = 30_000;

describe('web admin in Chromium', { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is not installed` }, () => {
  let w: WebWorld;
  let web: WebServer;
  let browser: BrowserContext;
  let profile: TempDir;
  let page: Page;
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
    await mkdir(ARTIFACTS, { recursive: true });
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

  test('the dashboard renders on a desktop and a phone without errors; screenshots saved', async () => {
    await page.goto(`${web.url}/`);
    await page.getByRole('heading', { name: 'Mailboxes' }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'web-dashboard.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    // Evaluated in the page (strings, since this project's TypeScript has no DOM types).
    const overflow = (await page.evaluate(
      'document.documentElement.scrollWidth - window.innerWidth',
    )) as number;
    const wide = (await page.evaluate(
      `[...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap'))
        .slice(0, 5).map((e) => e.tagName + '.' + e.className)`,
    )) as string[];
    assert.ok(overflow <= 0, `the phone layout is ${overflow}px wider than the screen: ${wide.join(', ')}`);
    await page.screenshot({ path: join(ARTIFACTS, 'web-dashboard-phone.png'), fullPage: true });
    assert.deepEqual(problems, [], 'no script errors or CSP violations');
  });
});
