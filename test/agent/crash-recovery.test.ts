// The agent dies at a side-effect boundary of the payout and is restarted: the worker is paid exactly once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startHarness, tagValue } from '../fakes/agent-harness.ts';
import { type CrashPoint, crashingBackend } from '../fakes/crashing-backend.ts';

const AMOUNT = 40_000_000n;
const FEE = 1000n + (AMOUNT * 10_000n) / 1_000_000n;

async function runUntilCrash(crash: CrashPoint) {
  const harness = await startHarness();
  const { backend, crashed } = crashingBackend(harness.sandbox.agent, crash);
  await harness.restartAgent({ lightning: backend });
  const canReceiveBefore = (await harness.sandbox.worker.getInfo()).remoteBalanceMsat;
  const { listing, payment } = await harness.fundTask(AMOUNT);
  const invoice = await harness.submitWork(listing.id, AMOUNT);
  await harness.act(harness.poster, 'approve', listing.id);
  await crashed;
  await harness.stopAgent();
  return { harness, listing, payment, invoice, canReceiveBefore };
}

for (const when of ['before', 'after'] as const) {
  test(`killed ${when} the payout call: after a restart the worker is paid exactly once`, async () => {
    const { harness, listing, payment, invoice, canReceiveBefore } = await runUntilCrash({
      method: 'pay',
      when,
    });
    try {
      const stuck = await harness.store.read((reader) => reader.tasks.get(listing.id));
      assert.is(stuck?.state, 'settled', 'the hold settled before the crash');
      assert.is(stuck?.payouts[0]?.state, 'in_flight', 'the payout intent was committed before the call');
      await harness.startAgent();
      await harness.waitForState(listing.id, 'paid');
      const canReceiveAfter = (await harness.sandbox.worker.getInfo()).remoteBalanceMsat;
      assert.is(canReceiveBefore - canReceiveAfter, AMOUNT - FEE, 'paid once, not twice');
      const rows = await harness.store.read((reader) => reader.payouts.forTask(listing.id));
      assert.equal(
        rows.map((row) => [row.state, row.paymentHash]),
        [['succeeded', invoice.paymentHash]],
      );
      assert.is((await payment).status, 'succeeded');
    } finally {
      await harness.stop();
    }
  });
}

test('killed right after the node settled the hold: after a restart the task is settled and paid once', async () => {
  const { harness, listing, canReceiveBefore } = await runUntilCrash({ method: 'settle', when: 'after' });
  try {
    const stuck = await harness.store.read((reader) => reader.tasks.get(listing.id));
    assert.is(stuck?.state, 'settling', 'the intent was committed, the confirmation was not');
    await harness.startAgent();
    const settled = await harness.waitForState(listing.id, 'settled');
    assert.ok(tagValue(settled, 'preimage'));
    await harness.waitForState(listing.id, 'paid');
    const canReceiveAfter = (await harness.sandbox.worker.getInfo()).remoteBalanceMsat;
    assert.is(canReceiveBefore - canReceiveAfter, AMOUNT - FEE);
  } finally {
    await harness.stop();
  }
});

test.run();
