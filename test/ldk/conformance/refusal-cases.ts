// Every refusal is a typed LightningError (or, for pay, a typed failure) and leaves nothing changed or stuck.
import * as assert from 'uvu/assert';
import { isLightningError } from '../../../src/ldk/lightning-error.ts';
import { eventually, newPreimage, thrown } from '../../fakes/ldk-wait.ts';
import { createHold, payerBalance, payUntilAccepted, ROOMY_CLTV, settledInfo } from './helpers.ts';
import type { ConformanceTest, HarnessAccess } from './types.ts';

/** BOLT 11's "$3 for a cup of coffee" example: a valid, signed invoice for mainnet. */
const MAINNET_INVOICE =
  'lnbc2500u1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpu9qrsgquk0rl77nj30yxdy8j9vdx85fkpmdla2087ne0xh8nhedh8w27kyke0lp53ut353s06fv3qfegext0eh0ymjpf39tuven09sam30g4vgpfna3rh';

export function registerRefusalCases(test: ConformanceTest, harness: HarnessAccess): void {
  test('a payment hash used before is refused with HashReused, whatever the first invoice became', async () => {
    const { paymentHash } = await createHold(harness());
    const request = {
      paymentHash,
      amountMsat: 1000n,
      description: 'again',
      expirySeconds: 600,
      finalCltvDelta: ROOMY_CLTV,
    };
    const whileOpen = await thrown(() => harness().agent.createHoldInvoice(request));
    assert.ok(isLightningError(whileOpen, 'HashReused'), String(whileOpen));
    await harness().agent.cancel(paymentHash);
    const afterCancel = await thrown(() => harness().agent.createHoldInvoice(request));
    assert.ok(isLightningError(afterCancel, 'HashReused'), String(afterCancel));
    assert.is((await harness().agent.lookup(paymentHash))?.amountMsat, 25_000_000n);
  });

  test('a wrong preimage is refused and the hold stays accepted, then settles with the right one', async () => {
    const { preimage, paymentHash, paying, hold } = await payUntilAccepted(harness());
    const wrong = newPreimage().preimage;

    const againstHash = await thrown(() => harness().agent.settle(wrong, paymentHash));
    assert.ok(isLightningError(againstHash, 'WrongPreimage'), String(againstHash));
    const alone = await thrown(() => harness().agent.settle(wrong));
    assert.ok(isLightningError(alone, 'UnknownHash'), String(alone));
    const malformed = await thrown(() => harness().agent.settle('not hex'));
    assert.ok(isLightningError(malformed, 'WrongPreimage'), String(malformed));
    assert.equal(await harness().agent.lookup(paymentHash), hold);

    await harness().agent.settle(preimage, paymentHash);
    assert.is((await paying).status, 'succeeded');
  });

  test('an unknown hash is refused with UnknownHash and looks up as null', async () => {
    const { paymentHash } = newPreimage();
    const error = await thrown(() => harness().agent.cancel(paymentHash));
    assert.ok(isLightningError(error, 'UnknownHash'), String(error));
    assert.is(await harness().agent.lookup(paymentHash), null);
    assert.is(await harness().agent.paymentStatus(paymentHash), null);
  });

  test('an amount of zero, or more than the node can receive, is refused with AmountInvalid', async () => {
    const receivable = (await settledInfo(harness().agent)).remoteBalanceMsat;
    for (const amountMsat of [0n, -1n, receivable + 1n]) {
      const { paymentHash } = newPreimage();
      const error = await thrown(() =>
        harness().agent.createHoldInvoice({
          paymentHash,
          amountMsat,
          description: 'x',
          expirySeconds: 600,
          finalCltvDelta: 144,
        }),
      );
      assert.ok(isLightningError(error, 'AmountInvalid'), `${amountMsat}: ${String(error)}`);
      assert.is(await harness().agent.lookup(paymentHash), null);
    }
  });

  test('a final CLTV payers cannot route, or an expiry of zero, is refused before any invoice exists', async () => {
    const tooLong = (harness().maxFinalCltvDelta ?? 1001) + 1;
    for (const finalCltvDelta of [0, 10, tooLong, 30.5]) {
      const { paymentHash } = newPreimage();
      const error = await thrown(() =>
        harness().agent.createHoldInvoice({
          paymentHash,
          amountMsat: 1000n,
          description: 'x',
          expirySeconds: 600,
          finalCltvDelta,
        }),
      );
      assert.ok(isLightningError(error, 'CltvInvalid'), `${finalCltvDelta}: ${String(error)}`);
      assert.is(await harness().agent.lookup(paymentHash), null);
    }
    const { paymentHash } = newPreimage();
    const error = await thrown(() =>
      harness().agent.createHoldInvoice({
        paymentHash,
        amountMsat: 1000n,
        description: 'x',
        expirySeconds: 0,
        finalCltvDelta: 144,
      }),
    );
    assert.ok(isLightningError(error, 'ExpiryInvalid'), String(error));
  });

  test('a malformed invoice or one for another network is refused before anything is sent', async () => {
    const before = await payerBalance(harness());
    const malformed = await thrown(() =>
      harness().payer.pay({ bolt11: 'lnbcrt1notaninvoice', maxFeeMsat: 0n, timeoutSeconds: 5 }),
    );
    assert.ok(isLightningError(malformed, 'InvoiceInvalid'), String(malformed));
    const mainnet = await thrown(() =>
      harness().payer.pay({ bolt11: MAINNET_INVOICE, maxFeeMsat: 0n, timeoutSeconds: 5 }),
    );
    assert.ok(isLightningError(mainnet, 'WrongNetwork'), String(mainnet));
    assert.is(await payerBalance(harness()), before);
  });

  test('an expired invoice is not paid and its hold reports CANCELED', async () => {
    const { paymentHash } = newPreimage();
    const invoice = await harness().agent.createHoldInvoice({
      paymentHash,
      amountMsat: 1000n,
      description: 'short-lived',
      expirySeconds: 1,
      finalCltvDelta: ROOMY_CLTV,
    });
    await eventually('the invoice has expired', async () => Date.now() / 1000 > invoice.expiresAt + 1, 5000);

    const paid = await harness().payer.pay({ bolt11: invoice.bolt11, maxFeeMsat: 0n, timeoutSeconds: 10 });

    assert.is(paid.status === 'failed' && paid.reason, 'invoice_expired');
    const hold = await harness().agent.lookup(paymentHash);
    assert.is(hold?.state, 'CANCELED');
    assert.is(hold?.cancelReason, 'expired');
  });
}
