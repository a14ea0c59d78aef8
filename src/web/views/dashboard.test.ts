import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Dashboard, MailboxView } from '../data.js';
import { textsFor } from '../i18n.js';
import { dashboardView } from './dashboard.js';
import { mailboxView } from './mailbox.js';

function mailbox(name: string, needsAction: boolean): MailboxView {
  return {
    name,
    protocol: 'pop3',
    host: 'pop.example.com',
    port: 995,
    user: `${name}@example.com`,
    state: 'failing',
    failures: 1,
    needsAction,
    nextRunAt: null,
    intervalMs: 60_000,
    today: 0,
    last: {
      at: 0,
      ok: false,
      fetched: 0,
      delivered: 0,
      deferred: 0,
      quarantined: 0,
      error: needsAction
        ? { code: 'POP3_AUTH', message: 'login refused', temporary: false }
        : { code: 'CONNECT_FAILED', message: 'connection refused', temporary: true },
    },
  };
}

function page(mailboxes: MailboxView[], lang: 'en' | 'de', alerts: Dashboard['alerts'] = []): string {
  const d: Dashboard = {
    alerts,
    mailboxes,
    target: { where: 'target mx:25', state: 'ok', since: 0, error: null },
    counts: { spooled: 0, deferred: 0, delivered: 0, quarantined: 0, deleted: 0, duplicate: 0 },
    hourly: [],
    daily: [],
  };
  return String(dashboardView(d, textsFor(lang)));
}

test('a mailbox failing for good is shown as needing your action, a temporary failure is not', () => {
  const shown = page([mailbox('info', true), mailbox('sales', false)], 'en');
  assert.equal(shown.match(/needs your action/g)?.length, 2, 'in the info row and in the card note');
  assert.match(shown, /1 needs your action, 2 failing/);
  assert.doesNotMatch(page([mailbox('sales', false)], 'en'), /needs your action/);
  assert.match(page([mailbox('info', true)], 'de'), /braucht Ihr Eingreifen/);
});

test("a mailbox's own page says it needs your action, and how it is retried meanwhile", () => {
  const t = textsFor('en');
  const shown = String(mailboxView(mailbox('info', true), [], t));
  assert.match(shown, /needs your action<\/strong>: retried once an hour: fix it, then fetch now/);
  assert.doesNotMatch(String(mailboxView(mailbox('sales', false), [], t)), /needs your action/);
});

test('active postmaster alerts are shown on the dashboard, in the page language', () => {
  const alerts = [{ key: 'target', title: 'target mx:25 is down', detail: 'connection refused', since: 0 }];
  const en = page([], 'en', alerts);
  assert.match(en, /Active alerts/);
  assert.match(en, /target mx:25 is down/);
  assert.match(page([], 'de', alerts), /Aktive Warnungen/);
  assert.doesNotMatch(page([], 'en'), /Active alerts/);
});
