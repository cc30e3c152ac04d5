// LND's rules for repeated and crossed calls: settle twice and cancel twice succeed; settle after cancel and
// cancel after settle fail with a typed error and change nothing.
import * as assert from 'uvu/assert';
import { isLightningError } from '../../../src/ldk/lightning-error.ts';
import { thrown } from '../../fakes/ldk-wait.ts';
import { createHold, holdState, payUntilAccepted } from './helpers.ts';
import type { ConformanceTest, HarnessAccess } from './types.ts';

export function registerIdempotencyCases(test: ConformanceTest, harness: HarnessAccess): void {
  test('settling twice succeeds and the second settle changes nothing', async () => {
    const { preimage, paymentHash, paying } = await payUntilAccepted(harness());
    await harness().agent.settle(preimage);
    const first = await harness().agent.lookup(paymentHash);
    await harness().agent.settle(preimage);
    assert.equal(await harness().agent.lookup(paymentHash), first);
    assert.is((await paying).status, 'succeeded');
  });

  test('canceling twice succeeds, while open and while accepted', async () => {
    const open = await createHold(harness());
    await harness().agent.cancel(open.paymentHash);
    await harness().agent.cancel(open.paymentHash);
    assert.is((await harness().agent.lookup(open.paymentHash))?.state, 'CANCELED');

    const held = await payUntilAccepted(harness());
    await harness().agent.cancel(held.paymentHash);
    await harness().agent.cancel(held.paymentHash);
    assert.is((await held.paying).status, 'failed');
  });

  test('settling a canceled hold fails with AlreadyCanceled and changes nothing', async () => {
    const { preimage, paymentHash, paying } = await payUntilAccepted(harness());
    await harness().agent.cancel(paymentHash);
    const error = await thrown(() => harness().agent.settle(preimage));
    assert.ok(isLightningError(error, 'AlreadyCanceled'), String(error));
    assert.is((await paying).status, 'failed');
    assert.is((await harness().agent.lookup(paymentHash))?.state, 'CANCELED');
  });

  test('canceling a settled hold fails with AlreadySettled and changes nothing', async () => {
    const { preimage, paymentHash, paying } = await payUntilAccepted(harness());
    await harness().agent.settle(preimage);
    const error = await thrown(() => harness().agent.cancel(paymentHash));
    assert.ok(isLightningError(error, 'AlreadySettled'), String(error));
    assert.is((await paying).status, 'succeeded');
    await holdState(harness(), paymentHash, 'SETTLED');
  });

  test('settling an open hold fails with NotAccepted and the invoice stays payable', async () => {
    const { preimage, paymentHash } = await createHold(harness());
    const error = await thrown(() => harness().agent.settle(preimage));
    assert.ok(isLightningError(error, 'NotAccepted'), String(error));
    assert.is((await harness().agent.lookup(paymentHash))?.state, 'OPEN');
    await harness().agent.cancel(paymentHash);
  });
}
