// The alert step, table-driven: one alert when a condition starts, one recovery when it ends, none in between.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AlertState, emptyState, type Observation, step } from './conditions.js';

const MIN = 60_000;
const obs = (key: string, holdMs = 0, since?: number): Observation => ({
  key,
  title: `${key} is wrong`,
  detail: `details of ${key}`,
  holdMs,
  ...(since === undefined ? {} : { since }),
});
const known = () => false;

/** Runs the step over a sequence of observations, returning what each tick raised and cleared. */
function run(ticks: Array<{ at: number; seen: Observation[]; unknown?: string[] }>, start = emptyState()) {
  let state: AlertState = start;
  return ticks.map((t) => {
    const r = step(state, t.seen, t.at, (k) => t.unknown?.includes(k) ?? false);
    state = r.state;
    return { raised: r.raised.map((a) => a.key), cleared: r.cleared.map((a) => a.key), state };
  });
}

describe('alert step', () => {
  const cases: Array<{
    name: string;
    ticks: Array<{ at: number; seen: Observation[]; unknown?: string[] }>;
    raised: string[][];
    cleared: string[][];
  }> = [
    {
      name: 'raises once and clears once, however many ticks see it',
      ticks: [
        { at: 0, seen: [obs('disk')] },
        { at: MIN, seen: [obs('disk')] },
        { at: 2 * MIN, seen: [obs('disk')] },
        { at: 3 * MIN, seen: [] },
        { at: 4 * MIN, seen: [] },
      ],
      raised: [['disk'], [], [], [], []],
      cleared: [[], [], [], ['disk'], []],
    },
    {
      name: 'waits out the hold time before raising',
      ticks: [
        { at: 0, seen: [obs('target', 15 * MIN)] },
        { at: 10 * MIN, seen: [obs('target', 15 * MIN)] },
        { at: 15 * MIN, seen: [obs('target', 15 * MIN)] },
      ],
      raised: [[], [], ['target']],
      cleared: [[], [], []],
    },
    {
      name: 'a condition that ends within the hold time raises nothing and clears nothing',
      ticks: [
        { at: 0, seen: [obs('target', 15 * MIN)] },
        { at: 5 * MIN, seen: [] },
        { at: 16 * MIN, seen: [obs('target', 15 * MIN)] },
      ],
      raised: [[], [], []],
      cleared: [[], [], []],
    },
    {
      name: 'a known start time counts (a mailbox failing since its first failing pass)',
      ticks: [{ at: 20 * MIN, seen: [obs('mailbox:info', 15 * MIN, 4 * MIN)] }],
      raised: [['mailbox:info']],
      cleared: [[]],
    },
    {
      name: 'an unknown condition keeps its alert: neither cleared nor raised again',
      ticks: [
        { at: 0, seen: [obs('cert:pop:995')] },
        { at: MIN, seen: [], unknown: ['cert:pop:995'] },
        { at: 2 * MIN, seen: [obs('cert:pop:995')] },
        { at: 3 * MIN, seen: [] },
      ],
      raised: [['cert:pop:995'], [], [], []],
      cleared: [[], [], [], ['cert:pop:995']],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = run(c.ticks);
      assert.deepEqual(
        got.map((g) => g.raised),
        c.raised,
      );
      assert.deepEqual(
        got.map((g) => g.cleared),
        c.cleared,
      );
    });
  }

  test('a pending condition keeps its first-seen time while unknown', () => {
    const [a, b] = run([
      { at: 0, seen: [obs('mailbox:x', 10 * MIN)] },
      { at: MIN, seen: [], unknown: ['mailbox:x'] },
    ]);
    assert.deepEqual(a!.state.pending, { 'mailbox:x': 0 });
    assert.deepEqual(b!.state.pending, { 'mailbox:x': 0 });
    const later = step(b!.state, [obs('mailbox:x', 10 * MIN)], 10 * MIN, known);
    assert.deepEqual(
      later.raised.map((r) => [r.key, r.since]),
      [['mailbox:x', 0]],
    );
  });
});
