// Outbound payments: over a direct channel, through the agent under a fee cap, beyond what a channel can
// carry, and the same invoice twice (it must never be paid twice).
import * as assert from 'uvu/assert';
import { eventually } from '../../fakes/ldk-wait.ts';
import { createHold, settledBalance, settledInfo } from './helpers.ts';
import type { ConformanceTest, HarnessAccess } from './types.ts';

const PAYOUT_MSAT = 10_000_000n;

export function registerPaymentCases(test: ConformanceTest, harness: HarnessAccess): void {
  test('the agent pays the worker over its own channel without a routing fee', async () => {
    const agentBefore = await settledBalance(harness().agent);
    const invoice = await harness().worker.createInvoice({
      amountMsat: PAYOUT_MSAT,
      description: 'payout',
      expirySeconds: 600,
    });

    const paid = await harness().agent.pay({ bolt11: invoice.bolt11, maxFeeMsat: 0n, timeoutSeconds: 60 });

    assert.is(paid.status, 'succeeded');
    assert.is(paid.status === 'succeeded' && paid.feeMsat, 0n);
    assert.equal(await harness().agent.paymentStatus(invoice.paymentHash), paid);
    assert.is(await settledBalance(harness().agent), agentBefore - PAYOUT_MSAT);
  });

  test('a payment routed through the agent is refused under the fee cap and paid at it', async () => {
    const fee = harness().forwardingFeeMsat(PAYOUT_MSAT);
    assert.ok(fee > 0n);
    const tooLow = await harness().worker.createInvoice({
      amountMsat: PAYOUT_MSAT,
      description: 'capped',
      expirySeconds: 600,
    });
    const refused = await harness().payer.pay({
      bolt11: tooLow.bolt11,
      maxFeeMsat: fee - 1n,
      timeoutSeconds: 30,
    });
    assert.is(refused.status === 'failed' && refused.reason, 'no_route');

    const enough = await harness().worker.createInvoice({
      amountMsat: PAYOUT_MSAT,
      description: 'routed',
      expirySeconds: 600,
    });
    const paid = await harness().payer.pay({ bolt11: enough.bolt11, maxFeeMsat: fee, timeoutSeconds: 30 });
    assert.is(paid.status, 'succeeded');
    assert.is(paid.status === 'succeeded' && paid.feeMsat, fee);
  });

  test('paying more than the channels can carry fails with insufficient_balance and sends nothing', async () => {
    const before = await settledInfo(harness().agent);
    // More than all its channels hold together, reserves included: with less, an LND that has the total but
    // no single channel for it says no_route (it pays in one part). A backend that lists no channels (NWC):
    // more than its balance.
    let held = before.channels.reduce((sum, channel) => sum + channel.capacitySat * 1000n, 0n);
    if (held < before.localBalanceMsat) held = before.localBalanceMsat;
    const invoice = await harness().worker.createInvoice({
      amountMsat: held + 1000n,
      description: 'too much',
      expirySeconds: 600,
    });

    const paid = await harness().agent.pay({ bolt11: invoice.bolt11, maxFeeMsat: 1000n, timeoutSeconds: 30 });

    assert.is(paid.status === 'failed' && paid.reason, 'insufficient_balance');
    assert.equal(await harness().agent.paymentStatus(invoice.paymentHash), paid);
    assert.is(await settledBalance(harness().agent), before.localBalanceMsat);
  });

  test('a payment still held when pay() runs out of time answers pending, never failed, and later succeeds', async () => {
    const { preimage, paymentHash, bolt11 } = await createHold(harness());

    const early = await harness().payer.pay({ bolt11, maxFeeMsat: 0n, timeoutSeconds: 1 });

    assert.equal(early, { status: 'pending', paymentHash });
    await eventually(
      'the agent holds it',
      async () => (await harness().agent.lookup(paymentHash))?.state === 'ACCEPTED',
    );
    await harness().agent.settle(preimage, paymentHash);
    const late = await eventually('the payer records the success', async () => {
      const status = await harness().payer.paymentStatus(paymentHash);
      return status?.status === 'succeeded' ? status : undefined;
    });
    assert.is(late.preimage, preimage);
  });

  test('paying the same invoice again returns the first success and pays only once', async () => {
    const invoice = await harness().worker.createInvoice({
      amountMsat: PAYOUT_MSAT,
      description: 'once',
      expirySeconds: 600,
    });
    const first = await harness().agent.pay({ bolt11: invoice.bolt11, maxFeeMsat: 0n, timeoutSeconds: 60 });
    const balance = await settledBalance(harness().agent);

    const second = await harness().agent.pay({ bolt11: invoice.bolt11, maxFeeMsat: 0n, timeoutSeconds: 60 });

    assert.equal(second, first);
    assert.is(await settledBalance(harness().agent), balance);
  });
}
