// The LND adapter against a STAND-IN LND gRPC server (test/fakes/lnd-standin, not a real LND): what the
// shared conformance suite cannot say about LND. LND's own auto-cancel delta (18 by default since LND 0.21,
// 12 up to 0.20, read from config) sets the claim deadline and LND cancels exactly there; the CLTV bounds
// LND can honour; pay() answering 'pending' while an HTLC is in flight; events surviving an LND restart;
// calls while LND is down.
//
// Kept on the stand-in for what real LND cannot be made to show here: holdexpirydelta 12 (LND up to 0.20) next
// to 18, and an LND that is down for a set time while calls are made. The same cases on real LND v0.21.6-beta
// (deadline at its own delta, pending while held, a restart while a hold is accepted) are in
// real-conformance.test.ts and real-agent.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeBolt11 } from '../../../src/ldk/bolt11/index.ts';
import { isLightningError } from '../../../src/ldk/lightning-error.ts';
import { LndBackend } from '../../../src/ldk/lnd/index.ts';
import type { LightningEvent } from '../../../src/ldk/port.ts';
import { eventually, newPreimage, thrown } from '../../fakes/ldk-wait.ts';
import { LndStandin } from '../../fakes/lnd-standin/lnd-standin.ts';
import { mintInvoice, testNodeKey } from '../../fakes/lnd-standin/standin-keys.ts';
import { opensslAvailable } from '../../fakes/lnd-standin/standin-tls.ts';

const AMOUNT_MSAT = 25_000_000n;
const standinTest = opensslAvailable() ? test : test.skip;
if (!opensslAvailable()) {
  console.log(
    'SKIP LND adapter tests: the stand-in LND needs the openssl command to make its TLS certificate',
  );
}

/** One stand-in with LND's default delta serves the tests that do not need another (connecting costs). */
let shared: { standin: LndStandin; agent: LndBackend } | null = null;

async function withStandin(
  holdExpiryDelta: number,
  run: (standin: LndStandin, agent: LndBackend) => Promise<void>,
) {
  if (holdExpiryDelta === 18) {
    if (!shared) {
      const standin = await LndStandin.start();
      shared = { standin, agent: await LndBackend.connect(standin.adapterConfig()) };
    }
    return run(shared.standin, shared.agent);
  }
  const standin = await LndStandin.start({ holdExpiryDelta });
  const agent = await LndBackend.connect(standin.adapterConfig({ holdExpiryDelta }));
  try {
    await run(standin, agent);
  } finally {
    agent.close();
    await standin.stop();
  }
}

test.after(async () => {
  shared?.agent.close();
  await shared?.standin.stop();
});

async function holdPaid(standin: LndStandin, agent: LndBackend, finalCltvDelta: number) {
  const { preimage, paymentHash } = newPreimage();
  const { bolt11 } = await agent.createHoldInvoice({
    paymentHash,
    amountMsat: AMOUNT_MSAT,
    description: 'adapter test',
    expirySeconds: 600,
    finalCltvDelta,
  });
  const paying = standin.payer.pay({ bolt11, maxFeeMsat: 0n, timeoutSeconds: 600 });
  const hold = await eventually('the hold is accepted', async () => {
    const found = await agent.lookup(paymentHash);
    return found?.state === 'ACCEPTED' ? found : undefined;
  });
  return { preimage, paymentHash, bolt11, paying, hold };
}

for (const holdExpiryDelta of [18, 12]) {
  standinTest(
    `LND cancels a held invoice holdExpiryDelta blocks before the HTLC expires (delta ${holdExpiryDelta})`,
    () =>
      withStandin(holdExpiryDelta, async (standin, agent) => {
        const events: LightningEvent[] = [];
        const unsubscribe = agent.subscribe((event) => events.push(event));
        const payerBefore = (await standin.payer.getInfo()).localBalanceMsat;
        const height = standin.mine(0);
        const { preimage, paymentHash, paying, hold } = await holdPaid(standin, agent, 40);

        // An LND payer pads the final CLTV by 3 blocks; LND cancels at expiry - holdexpirydelta.
        assert.is(hold.htlcExpiryHeight, height + 40 + 3);
        assert.is(hold.claimDeadlineHeight, hold.htlcExpiryHeight! - holdExpiryDelta);
        standin.mine(hold.claimDeadlineHeight! - 1 - height);
        assert.is((await agent.lookup(paymentHash))?.state, 'ACCEPTED');
        assert.is((await standin.payer.paymentStatus(paymentHash))?.status, 'pending');

        standin.mine(1);

        const canceled = await agent.lookup(paymentHash);
        assert.is(canceled?.state, 'CANCELED');
        assert.is(canceled?.cancelReason, 'deadline');
        assert.is((await paying).status, 'failed');
        assert.is((await standin.payer.getInfo()).localBalanceMsat, payerBefore);
        await eventually('hold_cancelled is reported with reason deadline', async () =>
          events.some((event) => event.type === 'hold_cancelled' && event.reason === 'deadline'),
        );
        const late = await thrown(() => agent.settle(preimage, paymentHash));
        assert.ok(isLightningError(late, 'AlreadyCanceled'), String(late));
        unsubscribe();
      }),
  );
}

standinTest(
  'final CLTV deltas: 24..2012 by default (LND minimum, 2016-block route cap); the invoice carries it',
  () =>
    withStandin(18, async (_standin, agent) => {
      for (const finalCltvDelta of [23, 2013]) {
        const error = await thrown(() =>
          agent.createHoldInvoice({
            ...newPreimage(),
            amountMsat: 1000n,
            description: 'x',
            expirySeconds: 600,
            finalCltvDelta,
          }),
        );
        assert.ok(isLightningError(error, 'CltvInvalid'), `${finalCltvDelta}: ${String(error)}`);
      }
      for (const finalCltvDelta of [24, 2012]) {
        const { paymentHash } = newPreimage();
        const { bolt11 } = await agent.createHoldInvoice({
          paymentHash,
          amountMsat: 1000n,
          description: 'x',
          expirySeconds: 600,
          finalCltvDelta,
        });
        assert.is(decodeBolt11(bolt11).minFinalCltvExpiryDelta, finalCltvDelta);
      }
    }),
);

standinTest(
  'pay() answers pending while the payee holds the HTLC, never failed, and reports the success later',
  () =>
    withStandin(18, async (standin, agent) => {
      const events: LightningEvent[] = [];
      const unsubscribe = agent.subscribe((event) => events.push(event));
      const invoice = await standin.worker.createInvoice({
        amountMsat: 10_000_000n,
        description: 'slow',
        expirySeconds: 600,
      });
      standin.worker.holdIncoming = true;

      const early = await agent.pay({ bolt11: invoice.bolt11, maxFeeMsat: 0n, timeoutSeconds: 0.3 });

      assert.equal(early, { status: 'pending', paymentHash: invoice.paymentHash });
      assert.equal(await agent.paymentStatus(invoice.paymentHash), early);
      // Asking again while in flight waits on it; it never sends a second HTLC.
      assert.equal(await agent.pay({ bolt11: invoice.bolt11, maxFeeMsat: 0n, timeoutSeconds: 0.2 }), early);
      standin.worker.releaseHeld();
      const succeeded = await eventually('payment_succeeded is reported', async () =>
        events.find(
          (event) => event.type === 'payment_succeeded' && event.paymentHash === invoice.paymentHash,
        ),
      );
      const status = await agent.paymentStatus(invoice.paymentHash);
      assert.is(status?.status, 'succeeded');
      assert.is(
        status?.status === 'succeeded' && status.preimage,
        succeeded.type === 'payment_succeeded' && succeeded.preimage,
      );
      assert.is((await standin.worker.getInfo()).remoteBalanceMsat > 0n, true);
      unsubscribe();
    }),
);

standinTest(
  'a payment the payee fails is failed with reason rejected, the same from pay() and paymentStatus()',
  () =>
    withStandin(18, async (_standin, agent) => {
      // An invoice of the worker's key for a hash the worker never issued: it fails the HTLC back.
      const { bolt11 } = mintInvoice(testNodeKey('worker'), {
        paymentHash: newPreimage().paymentHash,
        amountMsat: 5_000_000n,
        description: 'unknown to the worker',
        timestamp: Math.floor(Date.now() / 1000),
        expirySeconds: 600,
        finalCltvDelta: 40,
      });
      const before = (await agent.getInfo()).localBalanceMsat;
      const paid = await agent.pay({ bolt11, maxFeeMsat: 0n, timeoutSeconds: 10 });
      assert.equal(paid, {
        status: 'failed',
        paymentHash: decodeBolt11(bolt11).paymentHash,
        reason: 'rejected',
        detail: 'LND FAILURE_REASON_INCORRECT_PAYMENT_DETAILS',
      });
      assert.equal(await agent.paymentStatus(decodeBolt11(bolt11).paymentHash), paid);
      assert.is((await agent.getInfo()).localBalanceMsat, before);
    }),
);

standinTest('an invoice for another network is refused before anything is sent', () =>
  withStandin(18, async (_standin, agent) => {
    const mainnet =
      'lnbc2500u1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpu9qrsgquk0rl77nj30yxdy8j9vdx85fkpmdla2087ne0xh8nhedh8w27kyke0lp53ut353s06fv3qfegext0eh0ymjpf39tuven09sam30g4vgpfna3rh';
    const error = await thrown(() => agent.pay({ bolt11: mainnet, maxFeeMsat: 0n, timeoutSeconds: 5 }));
    assert.ok(isLightningError(error, 'WrongNetwork'), String(error));
    const malformed = await thrown(() =>
      agent.pay({ bolt11: 'lnbcrt1garbage', maxFeeMsat: 0n, timeoutSeconds: 5 }),
    );
    assert.ok(isLightningError(malformed, 'InvoiceInvalid'), String(malformed));
  }),
);

standinTest(
  'a long-lived adapter keeps reporting across an LND restart, and refuses calls while LND is down',
  () =>
    withStandin(18, async (standin, agent) => {
      const events: LightningEvent[] = [];
      const unsubscribe = agent.subscribe((event) => events.push(event));
      const { preimage, paymentHash } = newPreimage();
      const { bolt11 } = await agent.createHoldInvoice({
        paymentHash,
        amountMsat: AMOUNT_MSAT,
        description: 'across a restart',
        expirySeconds: 600,
        finalCltvDelta: 144,
      });

      standin.crash();
      const down = await thrown(() => agent.lookup(paymentHash));
      assert.ok(isLightningError(down, 'NodeUnavailable'), String(down));
      assert.match(String(down), /LND_SOCKET/);
      await standin.recover();

      // The stream of this invoice broke with LND; the adapter finds the invoice again and follows it.
      const paying = standin.payer.pay({ bolt11, maxFeeMsat: 0n, timeoutSeconds: 60 });
      await eventually('hold_accepted is reported after the restart', async () =>
        events.some((event) => event.type === 'hold_accepted' && event.paymentHash === paymentHash),
      );
      await agent.settle(preimage, paymentHash);
      assert.is((await paying).status, 'succeeded');
      await eventually('hold_settled is reported', async () =>
        events.some((event) => event.type === 'hold_settled' && event.paymentHash === paymentHash),
      );
      assert.ok(events.some((event) => event.type === 'block'));
      unsubscribe();
    }),
);

test.run();
