// Rules an outside client tripped over (issue #9), end to end from real parts: an embedded relay, three real LDK
// nodes, SQLite, nostr-tools clients. Each refusal arrives as a `rejected` label with its code and a reason the
// author can read, and changes nothing else.
import { finalizeEvent, generateSecretKey, type NostrEvent } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeBolt11, encodeBolt11 } from '../../src/ldk/bolt11/index.ts';
import { buildListing } from '../../src/protocol/build-listing.ts';
import { type Harness, startHarness, tagValue } from '../fakes/agent-harness.ts';

let harness: Harness;
let claimedTaskId: string | null = null;

test.before(async () => {
  harness = await startHarness();
});

test.after(async () => {
  await harness?.stop();
});

const labelOf = (event: NostrEvent) => event.tags.find((tag) => tag[0] === 'l')?.[1];

/** A version of the poster's listing at address 30402:<poster>:<d>, published `version` seconds from now. */
async function publishListing(d: string, amountMsat: bigint, version: number): Promise<NostrEvent> {
  const event = finalizeEvent(
    buildListing({
      d,
      title: `Proofread a page (version ${version})`,
      amountMsat,
      agent: harness.agentKey.pubkey,
      content: `Version ${version} of the listing.`,
      createdAt: Math.floor(Date.now() / 1000) + version,
    }),
    harness.poster.secretKey,
  );
  await harness.publish(event);
  return event;
}

test('an edited listing of an unfinished task is refused (ListingInUse); once the task is finished the address is free again', async () => {
  const d = `edited-${Date.now()}`;
  const first = await publishListing(d, 20_000_000n, 0);
  await harness.waitForState(first.id, 'offered');

  const edit = await publishListing(d, 30_000_000n, 1);
  const rejected = await harness.waitForState(edit.id, 'rejected');
  assert.is(tagValue(rejected, 'code'), 'ListingInUse');
  assert.ok(rejected.tags.some((tag) => tag[0] === 'e' && tag[1] === edit.id && tag[3] === 'reply'));
  assert.match(rejected.content, /^blocked: /);
  assert.ok(rejected.content.includes(first.id), `the reason names the open task: ${rejected.content}`);

  // Nothing else changed: no second task, no second offer, the first task still waits for its payment.
  await harness.agent.settle();
  assert.is(await harness.store.read((reader) => reader.tasks.get(edit.id)), null);
  assert.equal((await harness.agentEvents(edit.id)).map(labelOf), ['rejected']);
  assert.equal((await harness.agentEvents(first.id)).map(labelOf), ['offered']);
  assert.is((await harness.store.read((reader) => reader.tasks.get(first.id)))?.state, 'offered');

  // The poster cancels the first task; when it is finished, the same address makes a new task.
  await harness.act(harness.poster, 'cancel', first.id);
  await harness.waitForState(first.id, 'cancelled');
  const again = await publishListing(d, 25_000_000n, 2);
  const offered = await harness.waitForState(again.id, 'offered');
  assert.is(tagValue(offered, 'amount'), '25000000');
  assert.is(tagValue(offered, 'a'), `30402:${harness.poster.pubkey}:${d}`);
});

test('a payout invoice for the wrong amount is refused with AmountMismatch and the amount it must be for', async () => {
  const { sandbox, worker } = harness;
  const amount = 21_000_000n;
  const net = amount - harness.feeFor(amount);
  const { listing, payment } = await harness.fundTask(amount);
  await harness.act(worker, 'claim', listing.id);
  await harness.waitForState(listing.id, 'claimed');
  // The worker asks for the whole amount, forgetting the agent's fee.
  const wrong = await sandbox.worker.createInvoice({
    amountMsat: amount,
    description: 'x',
    expirySeconds: 3600,
  });
  const expected = `invalid: the invoice is for ${amount} msat; it must be for exactly ${net} msat (amount - fee)`;

  const submit = await harness.act(worker, 'submit', listing.id, {
    tags: [['bolt11', wrong.bolt11]],
    content: 'done',
  });
  const refusedSubmit = await harness.waitForState(submit.id, 'rejected');
  assert.is(tagValue(refusedSubmit, 'code'), 'AmountMismatch');
  assert.is(refusedSubmit.content, expected);

  const given = await harness.act(worker, 'payout_invoice', listing.id, {
    tags: [
      ['bolt11', wrong.bolt11],
      ['recipient', 'worker'],
    ],
  });
  const refusedInvoice = await harness.waitForState(given.id, 'rejected');
  assert.is(tagValue(refusedInvoice, 'code'), 'AmountMismatch');
  assert.is(refusedInvoice.content, expected);

  // The same invoice without an amount (re-signed by another node): the payer would choose, so it is refused too.
  const decoded = decodeBolt11(wrong.bolt11);
  const amountless = encodeBolt11(
    { ...decoded, amountMsat: null, fields: decoded.fields.filter((field) => field.kind !== 'payee') },
    { privateKey: generateSecretKey() },
  );
  const noAmount = await harness.act(worker, 'submit', listing.id, {
    tags: [['bolt11', amountless]],
    content: 'done',
  });
  const refusedNoAmount = await harness.waitForState(noAmount.id, 'rejected');
  assert.is(tagValue(refusedNoAmount, 'code'), 'AmountMismatch', refusedNoAmount.content);
  assert.is(
    refusedNoAmount.content,
    `invalid: the invoice has no amount; it must be for exactly ${net} msat (amount - fee)`,
  );

  await harness.agent.settle();
  const task = await harness.store.read((reader) => reader.tasks.get(listing.id));
  assert.is(task?.state, 'claimed', 'the refused invoices changed nothing');
  assert.is(task?.workerInvoice, null);
  claimedTaskId = listing.id;
  void payment;
});

test('a dispute on an agent without arbitrators is refused (DisputesNotOffered), answered, and changes nothing', async () => {
  assert.ok(claimedTaskId, 'the task left claimed by the previous test');
  const dispute = await harness.act(harness.poster, 'dispute', claimedTaskId, {
    content: 'not what I asked',
  });
  const rejected = await harness.waitForState(dispute.id, 'rejected');
  assert.is(tagValue(rejected, 'code'), 'DisputesNotOffered');
  assert.match(rejected.content, /^blocked: this task has no arbitrators/);
  await harness.agent.settle();
  assert.is((await harness.store.read((reader) => reader.tasks.get(claimedTaskId!)))?.state, 'claimed');
  assert.not.ok((await harness.agentEvents(claimedTaskId)).some((event) => labelOf(event) === 'disputed'));
});

test.run();
