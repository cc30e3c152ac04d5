// Deadlines in block height: the node reports when it would fail a held HTLC back, does so at that height,
// and a guard acting a safety margin earlier gets there first.
import * as assert from 'uvu/assert';
import { startDeadlineGuard } from '../../fakes/ldk-deadline-guard.ts';
import { eventually } from '../../fakes/ldk-wait.ts';
import {
  holdState,
  payerBalance,
  payerBalanceReturnsTo,
  paymentOutcome,
  payUntilAccepted,
  SHORT_CLTV,
} from './helpers.ts';
import type { ConformanceTest, HarnessAccess } from './types.ts';

/**
 * LDK fails a held HTLC back 21 blocks before it expires (CLTV_CLAIM_BUFFER 18 + LATENCY_GRACE_PERIOD 3); a
 * harness of another backend says its own (failBackBufferBlocks).
 */
const FAIL_BACK_BUFFER = 21;
const SAFETY_BLOCKS = 6;

export function registerDeadlineCases(test: ConformanceTest, harness: HarnessAccess): void {
  test('the adapter reports the claim deadline and the node fails the HTLC back at it', async () => {
    const before = await payerBalance(harness());
    const heightAtPayment = await harness().mine(0);
    const { paymentHash, hold, paying } = await payUntilAccepted(harness(), SHORT_CLTV);
    const deadline = hold.claimDeadlineHeight!;
    assert.is(deadline, hold.htlcExpiryHeight! - (harness().failBackBufferBlocks ?? FAIL_BACK_BUFFER));
    // The HTLC carries at least the invoice's final CLTV (asked + 3); the payer may add a random offset.
    assert.ok(hold.htlcExpiryHeight! >= heightAtPayment + SHORT_CLTV + 3, `expiry ${hold.htlcExpiryHeight}`);

    await harness().mine(deadline - 1 - heightAtPayment);
    assert.is((await harness().agent.lookup(paymentHash))?.state, 'ACCEPTED');
    assert.is((await harness().payer.paymentStatus(paymentHash))?.status, 'pending');

    await harness().mine(1);

    const canceled = await holdState(harness(), paymentHash, 'CANCELED');
    assert.is(canceled.cancelReason, 'deadline');
    assert.is((await paying).status, 'failed');
    await payerBalanceReturnsTo(harness(), before);
  });

  test('a guard that cancels a safety margin before the deadline refunds the payer before the node would', async () => {
    const before = await payerBalance(harness());
    const guard = startDeadlineGuard(harness().agent, SAFETY_BLOCKS);
    try {
      const { paymentHash, hold } = await payUntilAccepted(harness(), SHORT_CLTV);
      const trigger = hold.claimDeadlineHeight! - SAFETY_BLOCKS;
      const height = await harness().mine(0);

      await harness().mine(trigger - 1 - height);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.is((await harness().agent.lookup(paymentHash))?.state, 'ACCEPTED');

      await harness().mine(1);

      const canceled = await holdState(harness(), paymentHash, 'CANCELED');
      assert.is(canceled.cancelReason, 'requested');
      await eventually('the guard has acted', async () => guard.canceled.length === 1);
      assert.equal(guard.canceled, [{ paymentHash, height: trigger }]);
      assert.ok(trigger < hold.claimDeadlineHeight!);
      assert.is((await paymentOutcome(harness(), paymentHash)).status, 'failed');
      await payerBalanceReturnsTo(harness(), before);
    } finally {
      guard.stop();
    }
  });
}
