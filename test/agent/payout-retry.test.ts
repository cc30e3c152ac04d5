// A payout the worker's node refuses is retried with a backoff (min(300, 2^attempts) s) that lives in the
// store: after a restart the agent still waits until the failed attempt's next_attempt_at, then tries again.
// Real parts only: the worker's node refuses the payment because the worker cancelled its own invoice.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startHarness } from '../fakes/agent-harness.ts';
import { eventually, newPreimage } from '../fakes/ldk-wait.ts';

const AMOUNT = 30_000_000n;

test('a failed payout waits out its backoff across a restart of the agent, then is tried again', async () => {
  // The agent's clock is the wall clock until the test pins it ahead (never behind: the outbox schedules by the
  // store's wall clock); pinned, it stands still, so "not yet" is not a race with the wall clock.
  let clock = 0;
  const now = () => Math.max(Math.floor(Date.now() / 1000), clock);
  const harness = await startHarness({ agent: { now } });
  try {
    const { sandbox, worker, poster } = harness;
    const { listing } = await harness.fundTask(AMOUNT);
    await harness.act(worker, 'claim', listing.id);
    await harness.waitForState(listing.id, 'claimed');
    // An invoice the worker's node will refuse to be paid on: a hold invoice it cancelled itself.
    const { paymentHash } = newPreimage();
    const invoice = await sandbox.worker.createHoldInvoice({
      paymentHash,
      amountMsat: AMOUNT - harness.feeFor(AMOUNT),
      description: 'the work',
      expirySeconds: 3600,
      finalCltvDelta: 40,
    });
    await sandbox.worker.cancel(paymentHash);
    await harness.act(worker, 'submit', listing.id, { tags: [['bolt11', invoice.bolt11]], content: 'done' });
    await harness.waitForState(listing.id, 'submitted');
    clock = Math.floor(Date.now() / 1000) + 600;
    await harness.act(poster, 'approve', listing.id);
    await harness.waitForState(listing.id, 'settled');

    const latest = () => harness.store.read((reader) => reader.payouts.latestAttempt(listing.id, 'worker'));
    const first = await eventually('the first attempt failed', async () => {
      const attempt = await latest();
      return attempt?.state === 'failed' ? attempt : undefined;
    });
    assert.is(first.attempt, 1);
    assert.is(first.nextAttemptAt, clock + 2, 'backoff after one failed attempt: 2^1 s');
    assert.match(first.lastError ?? '', /^rejected: /);
    assert.is((await harness.store.read((reader) => reader.tasks.get(listing.id)))?.state, 'settled');

    await harness.restartAgent({ now });
    clock = first.nextAttemptAt! - 1;
    // Several reconcile rounds (every 300 ms) and a block: none may start an attempt before the stored time.
    sandbox.mine(1);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await harness.agent.settle();
    const waiting = await latest();
    assert.is(waiting?.attempt, 1, 'no new attempt before next_attempt_at, after a restart');

    clock = first.nextAttemptAt!;
    const second = await eventually('the second attempt failed', async () => {
      const attempt = await latest();
      return attempt?.attempt === 2 && attempt.state === 'failed' ? attempt : undefined;
    });
    assert.is(second.nextAttemptAt, clock + 4, 'backoff after two failed attempts: 2^2 s');
    const rows = await harness.store.read((reader) => reader.payouts.forTask(listing.id));
    assert.equal(
      rows.map((row) => [row.attempt, row.state, row.paymentHash]),
      [
        [1, 'failed', paymentHash],
        [2, 'failed', paymentHash],
      ],
    );
  } finally {
    await harness.stop();
  }
});

test.run();
