// End to end, from real parts: an embedded relay on 127.0.0.1, three real LDK nodes, SQLite, and nostr-tools
// clients. A task goes from posted to paid; the worker's node receives amount - fee; every agent event is signed
// by the agent and chained to the previous one.
import { createHash } from 'node:crypto';
import { verifyEvent } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseTransition } from '../../src/protocol/parse-transition.ts';
import { type Harness, startHarness, tagValue } from '../fakes/agent-harness.ts';
import { unverifiedTasks } from '../fakes/verify-tasks.ts';

let harness: Harness;
const AMOUNT = 50_000_000n; // 50,000 sat
const FEE = 1000n + (AMOUNT * 10_000n) / 1_000_000n;

test.before(async () => {
  harness = await startHarness();
});

test.after(async () => {
  await harness?.stop();
});

function labelOf(event: { tags: string[][] }): string | undefined {
  return event.tags.find((tag) => tag[0] === 'l')?.[1];
}

test('a task goes from posted to paid, and the worker is paid amount - fee', async () => {
  const { sandbox, poster, worker } = harness;
  // What the worker can still receive from the agent shrinks by exactly what it was paid (a direct channel, no
  // routing fee). Its outbound capacity would stay 0 until it exceeds the channel reserve.
  const canReceiveBefore = (await sandbox.worker.getInfo()).remoteBalanceMsat;
  const listing = await harness.postTask({ amountMsat: AMOUNT });
  const offered = await harness.waitForState(listing.id, 'offered');
  const bolt11 = tagValue(offered, 'bolt11');
  const paymentHash = tagValue(offered, 'payment_hash');
  assert.ok(bolt11 && paymentHash, 'the offer carries the hold invoice and its payment hash');

  const payment = sandbox.payer.pay({ bolt11, maxFeeMsat: 10_000n, timeoutSeconds: 60 });
  await harness.waitForState(listing.id, 'funded');

  await harness.act(worker, 'claim', listing.id);
  await harness.waitForState(listing.id, 'claimed');
  const invoice = await sandbox.worker.createInvoice({
    amountMsat: AMOUNT - FEE,
    description: 'haiku',
    expirySeconds: 3600,
  });
  await harness.act(worker, 'submit', listing.id, {
    tags: [['bolt11', invoice.bolt11]],
    content: 'escrow holds / ...',
  });
  await harness.waitForState(listing.id, 'submitted');
  await harness.act(poster, 'approve', listing.id);

  const settled = await harness.waitForState(listing.id, 'settled');
  const preimage = tagValue(settled, 'preimage');
  assert.ok(preimage, 'the settlement reveals the preimage');
  assert.is(createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex'), paymentHash);
  await harness.waitForState(listing.id, 'paid');

  const paid = await payment;
  assert.is(paid.status, 'succeeded');
  if (paid.status === 'succeeded') assert.is(paid.preimage, preimage, 'the payer holds the same preimage');
  const canReceiveAfter = (await sandbox.worker.getInfo()).remoteBalanceMsat;
  assert.is(canReceiveBefore - canReceiveAfter, AMOUNT - FEE, "the worker's node received amount - fee");

  const task = await harness.store.read((reader) => reader.tasks.get(listing.id));
  assert.is(task?.state, 'paid');
  assert.is(task?.ledger.paidToWorkerMsat, AMOUNT - FEE);
  assert.is(task?.ledger.feeMsat, FEE);
});

test('every agent event of the task is signed by the agent and chained to the previous transition', async () => {
  const [task] = await harness.store.read((reader) => reader.tasks.listByState(['paid']));
  assert.ok(task);
  const events = await harness.agentEvents(task.id);
  const transitions = events.filter((event) => labelOf(event) !== 'rejected');
  // Walk the chain from the first transition (no prev) through each one's successor.
  const prevOf = (event: { tags: string[][] }) =>
    event.tags.find((tag) => tag[0] === 'e' && tag[3] === 'prev')?.[1] ?? null;
  const chain: typeof transitions = [];
  let cursor = transitions.find((event) => prevOf(event) === null);
  while (cursor) {
    chain.push(cursor);
    const id: string = cursor.id;
    cursor = transitions.find((event) => prevOf(event) === id);
  }
  assert.is(chain.length, transitions.length, 'every transition is on one chain');
  assert.equal(chain.map(labelOf), [
    'offered',
    'funded',
    'claimed',
    'submitted',
    'settling',
    'settled',
    'paid',
  ]);
  for (const event of chain) {
    assert.ok(verifyEvent(JSON.parse(JSON.stringify(event))), `${labelOf(event)} is validly signed`);
    assert.is(event.pubkey, harness.agentKey.pubkey);
    const parsed = parseTransition(event as never, { agentPubkey: harness.agentKey.pubkey });
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
  }
});

test('an approval by someone other than the poster is refused with a reason, and changes nothing', async () => {
  const { sandbox, worker } = harness;
  const listing = await harness.postTask({ amountMsat: 20_000_000n });
  const offered = await harness.waitForState(listing.id, 'offered');
  const payment = sandbox.payer.pay({
    bolt11: tagValue(offered, 'bolt11')!,
    maxFeeMsat: 10_000n,
    timeoutSeconds: 60,
  });
  await harness.waitForState(listing.id, 'funded');
  await harness.act(worker, 'claim', listing.id);
  await harness.waitForState(listing.id, 'claimed');
  const approval = await harness.act(worker, 'approve', listing.id);
  const rejected = await harness.waitForState(listing.id, 'rejected');
  assert.ok(rejected.tags.some((tag) => tag[0] === 'e' && tag[1] === approval.id && tag[3] === 'reply'));
  assert.match(rejected.content, /^blocked: only the poster can approve/);
  const task = await harness.store.read((reader) => reader.tasks.get(listing.id));
  assert.is(task?.state, 'claimed');
  void payment;
});

test('every task this suite ran verifies from the relay alone (verifyTask, as `escrow-agent verify`)', async () => {
  assert.equal(await unverifiedTasks(harness), []);
});

test.run();
