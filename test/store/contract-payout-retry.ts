// Contract: a failed payout attempt keeps its error and the time the next attempt may start, in the store (not in
// the agent's memory), and the latest attempt per task and recipient can be read back.
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TestDatabases } from '../fakes/store-databases.ts';
import { hex64, taskStory, writeStory } from '../fakes/store-fixtures.ts';

/** 2100-01-01: past 2^31, so a 32-bit column would not hold it. */
const LATE = 4_102_444_800;

export function registerPayoutRetryContract(test: Test, databases: TestDatabases): void {
  test('a failed attempt keeps its error and next attempt time; the latest attempt is read per recipient', async () => {
    const store = await (await databases.create()).open();
    const story = taskStory('retry-state');
    assert.is(await store.read((tx) => tx.payouts.latestAttempt(story.id, 'worker')), null);
    await writeStory(store, story, 'payoutStarted');

    const first = await store.read((tx) => tx.payouts.latestAttempt(story.id, 'worker'));
    assert.is(first?.attempt, 1);
    assert.is(first?.state, 'in_flight');
    assert.is(first?.nextAttemptAt, null);
    assert.is(first?.lastError, null);
    assert.is(await store.read((tx) => tx.payouts.latestAttempt(story.id, 'poster')), null);

    assert.ok(
      await store.transaction((tx) =>
        tx.payouts.finish(first!.id, 'failed', {
          error: 'no_route: nothing to the worker',
          nextAttemptAt: LATE,
        }),
      ),
    );
    const failed = await store.read((tx) => tx.payouts.latestAttempt(story.id, 'worker'));
    assert.equal(
      {
        attempt: failed?.attempt,
        state: failed?.state,
        next: failed?.nextAttemptAt,
        error: failed?.lastError,
      },
      { attempt: 1, state: 'failed', next: LATE, error: 'no_route: nothing to the worker' },
    );
    // A finished attempt is not finished again: its error and retry time stay as they were.
    assert.not.ok(
      await store.transaction((tx) =>
        tx.payouts.finish(first!.id, 'failed', { error: 'other', nextAttemptAt: 1 }),
      ),
    );
    assert.is((await store.read((tx) => tx.payouts.latestAttempt(story.id, 'worker')))?.nextAttemptAt, LATE);

    await store.transaction((tx) =>
      tx.payouts.start({
        taskId: story.id,
        recipient: 'worker',
        bolt11: 'lnbcrt-second',
        paymentHash: hex64('retry-state-second'),
        amountMsat: story.amountMsat - story.feeMsat,
      }),
    );
    const second = await store.read((tx) => tx.payouts.latestAttempt(story.id, 'worker'));
    assert.equal(
      {
        attempt: second?.attempt,
        state: second?.state,
        next: second?.nextAttemptAt,
        error: second?.lastError,
      },
      { attempt: 2, state: 'in_flight', next: null, error: null },
    );
  });

  test('the retry state is not part of the projection hash (it is the clock, not the history)', async () => {
    const hashes: string[] = [];
    for (const patch of [{}, { error: 'no_route: x', nextAttemptAt: LATE }]) {
      const store = await (await databases.create()).open();
      const story = taskStory('retry-hash', { at: 1_700_000_000 });
      await writeStory(store, story, 'payoutStarted');
      const attempt = await store.read((tx) => tx.payouts.latestAttempt(story.id, 'worker'));
      await store.transaction((tx) => tx.payouts.finish(attempt!.id, 'failed', patch));
      hashes.push(await store.projectionHash());
    }
    assert.is(hashes[1], hashes[0]);
  });
}
