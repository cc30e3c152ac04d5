// The three ways a hold ends: settled (the payer learns the preimage), canceled before payment (a late
// payment is refused), canceled while held (the payer gets everything back).
import * as assert from 'uvu/assert';
import type { LightningEvent } from '../../../src/ldk/port.ts';
import { eventually } from '../../fakes/ldk-wait.ts';
import {
  AMOUNT_MSAT,
  createHold,
  holdState,
  payerBalance,
  payerBalanceReturnsTo,
  paymentOutcome,
  payUntilAccepted,
} from './helpers.ts';
import type { ConformanceTest, HarnessAccess } from './types.ts';

export function registerHoldCases(test: ConformanceTest, harness: HarnessAccess): void {
  test('a settled hold gives the payer the same preimage the agent settled with', async () => {
    const events: LightningEvent[] = [];
    const unsubscribe = harness().agent.subscribe((event) => events.push(event));
    try {
      const { preimage, paymentHash, hold, paying } = await payUntilAccepted(harness());
      assert.is(hold.receivedMsat, AMOUNT_MSAT);
      assert.ok(hold.claimDeadlineHeight !== null && hold.htlcExpiryHeight !== null);
      const accepted = await eventually('hold_accepted is reported', async () =>
        events.find((event) => event.type === 'hold_accepted' && event.paymentHash === paymentHash),
      );
      assert.equal(accepted, {
        type: 'hold_accepted',
        paymentHash,
        amountMsat: AMOUNT_MSAT,
        htlcExpiryHeight: hold.htlcExpiryHeight,
        claimDeadlineHeight: hold.claimDeadlineHeight,
      });

      await harness().agent.settle(preimage, paymentHash);

      const paid = await paying;
      assert.is(paid.status, 'succeeded');
      assert.is(paid.status === 'succeeded' && paid.preimage, preimage);
      const settled = await harness().agent.lookup(paymentHash);
      assert.is(settled?.state, 'SETTLED');
      assert.is(settled?.receivedMsat, AMOUNT_MSAT);
      await eventually('hold_settled is reported', async () =>
        events.some((event) => event.type === 'hold_settled' && event.paymentHash === paymentHash),
      );
    } finally {
      unsubscribe();
    }
  });

  test('a hold canceled while open refuses a payment that comes later', async () => {
    const { paymentHash, bolt11 } = await createHold(harness());
    await harness().agent.cancel(paymentHash);
    assert.is((await harness().agent.lookup(paymentHash))?.cancelReason, 'requested');
    const before = await payerBalance(harness());

    const paid = await harness().payer.pay({ bolt11, maxFeeMsat: 10_000n, timeoutSeconds: 60 });

    assert.is(paid.status, 'failed');
    assert.is(paid.status === 'failed' && paid.reason, 'rejected');
    const after = await harness().agent.lookup(paymentHash);
    assert.is(after?.state, 'CANCELED');
    assert.is(after?.receivedMsat, 0n);
    await payerBalanceReturnsTo(harness(), before);
  });

  test('a hold canceled while accepted refunds the payer in full', async () => {
    const before = await payerBalance(harness());
    const { paymentHash, paying } = await payUntilAccepted(harness());
    assert.is(
      (await harness().payer.getInfo()).localBalanceMsat,
      before - AMOUNT_MSAT - (harness().htlcCommitFeeMsat ?? 0n),
    );

    await harness().agent.cancel(paymentHash);

    const paid = await paying;
    assert.is(paid.status === 'failed' && paid.reason, 'rejected');
    await holdState(harness(), paymentHash, 'CANCELED');
    await payerBalanceReturnsTo(harness(), before);
    assert.is((await paymentOutcome(harness(), paymentHash)).status, 'failed');
  });
}
