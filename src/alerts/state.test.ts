import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ALERTS_MAILBOX, alertsMailbox, isAlertsMailbox } from './state.js';

describe('the alert mailbox of an instance', () => {
  test('a folder state has the one (alerts) mailbox', () => {
    assert.equal(alertsMailbox({ state: './data', stateKind: 'sqlite' }), ALERTS_MAILBOX);
  });

  test('instances sharing a PostgreSQL state each deliver their own, by their stable label', () => {
    const of = (instance: string) =>
      alertsMailbox({
        state: 'postgres://pb@db/pb',
        stateKind: 'postgres',
        spool: '/var/spool/pb',
        instance,
      });
    assert.equal(of('mx1'), '(alerts mx1)');
    assert.notEqual(of('mx1'), of('mx2'));
    assert.equal(of('mx1'), of('mx1'), 'a restarted instance sends what its predecessor queued');
  });

  const cases: Array<[string, boolean]> = [
    ['(alerts)', true],
    ['(alerts mx1)', true],
    ['(alerts host:spool)', true],
    ['alerts', false],
    ['(alerts', false],
    ['sales', false],
  ];
  for (const [name, alerts] of cases) {
    test(`${name} ${alerts ? 'is' : 'is not'} alert mail that no pass delivers`, () =>
      assert.equal(isAlertsMailbox(name), alerts));
  }
});
