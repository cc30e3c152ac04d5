// A restart (as after a crash) while a hold is ACCEPTED: LDK does not announce held payments again, so the
// adapter must remember them, report them to new subscribers, and still settle or cancel them.
import * as assert from 'uvu/assert';
import type { LightningEvent } from '../../../src/ldk/port.ts';
import { eventually } from '../../fakes/ldk-wait.ts';
import { payerBalance, payerBalanceReturnsTo, paymentOutcome, payUntilAccepted } from './helpers.ts';
import type { ConformanceTest, HarnessAccess } from './types.ts';

export function registerRestartCases(test: ConformanceTest, harness: HarnessAccess): void {
  test('a hold accepted before a restart is reported again and can be settled after it', async () => {
    const { preimage, paymentHash, hold } = await payUntilAccepted(harness());

    await harness().restart();

    const events: LightningEvent[] = [];
    const unsubscribe = harness().agent.subscribe((event) => events.push(event));
    try {
      const reported = await eventually('the held payment is reported again', async () =>
        events.find((event) => event.type === 'hold_accepted' && event.paymentHash === paymentHash),
      );
      assert.equal(reported, {
        type: 'hold_accepted',
        paymentHash,
        amountMsat: hold.receivedMsat,
        htlcExpiryHeight: hold.htlcExpiryHeight,
        claimDeadlineHeight: hold.claimDeadlineHeight,
      });
    } finally {
      unsubscribe();
    }
    assert.equal(await harness().agent.lookup(paymentHash), hold);

    await harness().agent.settle(preimage);

    const outcome = await paymentOutcome(harness(), paymentHash);
    assert.is(outcome.status === 'succeeded' && outcome.preimage, preimage);
    assert.is((await harness().agent.lookup(paymentHash))?.state, 'SETTLED');
  });

  test('a hold accepted before a restart can be canceled after it, refunding the payer', async () => {
    const before = await payerBalance(harness());
    const { paymentHash } = await payUntilAccepted(harness());

    await harness().restart();
    await harness().agent.cancel(paymentHash);

    const outcome = await paymentOutcome(harness(), paymentHash);
    assert.is(outcome.status === 'failed' && outcome.reason, 'rejected');
    assert.is((await harness().agent.lookup(paymentHash))?.state, 'CANCELED');
    await payerBalanceReturnsTo(harness(), before);
  });
}
