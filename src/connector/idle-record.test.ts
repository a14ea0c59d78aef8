// An unchanged mailbox costs no store write per poll: an idle poll right after a recorded idle one is
// not recorded again within IDLE_RECORD_MS; anything that changed something, or failed, always is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PostboteError } from '../errors.js';
import { emptySession, plainPlan, schedulerContext } from '../scheduler/test-context.js';
import { IDLE_RECORD_MS, type MailboxPlan, runMailboxPass } from './mailbox-pass.js';

function emptyMailbox(failing: { now: boolean }): MailboxPlan {
  return plainPlan('quiet', 'pop.example', async () => {
    if (failing.now) throw new PostboteError('CONNECT_FAILED', 'refused', { temporary: true });
    return emptySession('pop.example');
  });
}

test('idle polls of an unchanged mailbox are recorded once an hour; failures and the first poll after one always', async () => {
  const ctx = await schedulerContext();
  let clock = 1_000_000;
  ctx.now = () => clock;
  const failing = { now: false };
  const plan = emptyMailbox(failing);
  const poll = async () => {
    clock += 60_000;
    await runMailboxPass(ctx, plan);
  };
  const recorded = async () => (await ctx.store.sessionsOf('quiet', 100)).length;

  await poll();
  await poll();
  await poll();
  assert.equal(await recorded(), 1, 'the first idle poll is recorded, the next two are not');
  failing.now = true;
  await poll();
  assert.equal(await recorded(), 2, 'a failed poll is recorded');
  failing.now = false;
  await poll();
  assert.equal(
    await recorded(),
    3,
    'the idle poll after a failure is recorded (the mailbox page shows it recovered)',
  );
  await poll();
  assert.equal(await recorded(), 3);
  clock += IDLE_RECORD_MS;
  await poll();
  assert.equal(await recorded(), 4, 'an hour on, an idle poll is recorded again');
  const [last] = await ctx.store.sessionsOf('quiet', 1);
  assert.equal(last!.endedAt, clock, 'the latest record is the latest poll');
});
