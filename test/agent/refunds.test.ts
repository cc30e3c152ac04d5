// End to end: every way a task ends in a refund, with the payer's money back at its node.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Harness, startHarness, tagValue } from '../fakes/agent-harness.ts';
import { unverifiedTasks } from '../fakes/verify-tasks.ts';

let harness: Harness;
const AMOUNT = 30_000_000n;

test.before(async () => {
  harness = await startHarness();
});

test.after(async () => {
  await harness?.stop();
});

const fundedTask = () => harness.fundTask(AMOUNT);

async function stateOf(taskId: string) {
  return (await harness.store.read((reader) => reader.tasks.get(taskId)))?.state;
}

test('a task cancelled before it is paid ends cancelled, and its invoice can no longer be paid', async () => {
  const listing = await harness.postTask({ amountMsat: AMOUNT });
  const offered = await harness.waitForState(listing.id, 'offered');
  await harness.act(harness.poster, 'cancel', listing.id);
  const cancelled = await harness.waitForState(listing.id, 'cancelled');
  assert.is(tagValue(cancelled, 'payment_hash'), tagValue(offered, 'payment_hash'));
  const late = await harness.sandbox.payer.pay({
    bolt11: tagValue(offered, 'bolt11')!,
    maxFeeMsat: 10_000n,
    timeoutSeconds: 20,
  });
  assert.is(late.status, 'failed', 'a late payment of a cancelled invoice is refused');
  const task = await harness.store.read((reader) => reader.tasks.get(listing.id));
  assert.is(task?.ledger.receivedMsat, 0n);
});

test('a funded task cancelled by the poster is refunded: the payer gets its money back', async () => {
  const payerBefore = (await harness.sandbox.payer.getInfo()).localBalanceMsat;
  const { listing, payment } = await fundedTask();
  await harness.act(harness.poster, 'cancel', listing.id);
  const refunded = await harness.waitForState(listing.id, 'refunded');
  assert.is(tagValue(refunded, 'amount'), AMOUNT.toString());
  const outcome = await payment;
  assert.is(outcome.status, 'failed', "the payer's HTLC was failed back");
  const payerAfter = (await harness.sandbox.payer.getInfo()).localBalanceMsat;
  assert.is(payerAfter, payerBefore, 'the payer can spend exactly what it could before');
});

test('a funded task nobody claims is refunded by the guardian before the node would give the HTLC back itself', async () => {
  const { listing, funded, payment } = await fundedTask();
  const claimDeadline = Number(tagValue(funded, 'claim_deadline'));
  const guardianAt = Number(tagValue(funded, 'hold_deadline'));
  assert.is(guardianAt, claimDeadline - harness.agent.ctx.policy.safetyMarginBlocks);
  harness.sandbox.mine(guardianAt - harness.sandbox.height - 1);
  await harness.agent.settle();
  assert.is(await stateOf(listing.id), 'funded', 'one block before the guardian height nothing happens');
  harness.sandbox.mine(1);
  const refunded = await harness.waitForState(listing.id, 'refunded');
  assert.ok(Number(tagValue(refunded, 'height')) < claimDeadline, 'refunded before the claim deadline');
  assert.is((await payment).status, 'failed');
  const task = await harness.store.read((reader) => reader.tasks.get(listing.id));
  assert.is(task?.reason, 'hold_deadline');
});

test('a task claimed but never submitted is refunded when the work window is over', async () => {
  const { listing, payment } = await fundedTask();
  await harness.act(harness.worker, 'claim', listing.id);
  await harness.waitForState(listing.id, 'claimed');
  harness.advanceClock(harness.agent.ctx.policy.windows.workSeconds + 1);
  await harness.waitForState(listing.id, 'refunded');
  const task = await harness.store.read((reader) => reader.tasks.get(listing.id));
  assert.is(task?.reason, 'work_timeout');
  assert.is((await payment).status, 'failed');
});

test('every task this suite ran verifies from the relay alone (verifyTask, as `escrow-agent verify`)', async () => {
  assert.equal(await unverifiedTasks(harness), []);
});

test.run();
