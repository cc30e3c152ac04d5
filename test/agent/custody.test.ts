// End to end: disputes that end in the agent's custody, and disputes nobody decides. Real parts only: the embedded
// relay on 127.0.0.1, three real LDK sandbox nodes (payer = the poster's wallet, agent, worker), SQLite, and a
// Lightning-address service on 127.0.0.1 (test/fakes/lnurl-server.ts) whose invoices the poster's own node signs.
//
// Routes, each printed as `route <name>: verdict -> money moved <ms> ms` (from the deciding verdict, or the block
// that reached the guardian height, to the paid / refunded transition seen on the relay; never asserted):
// - split 60/40, the poster's share to a BOLT11 invoice from the payer node;
// - split 60/40, the poster's share to a Lightning address (and a service answering with a wrong amount);
// - no verdict under dispute_deadline_rule = refund: the guardian refunds before the node's claim deadline;
// - no verdict under dispute_deadline_rule = custody: the guardian settles into custody, a later verdict pays.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { NostrEvent } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sha256Hex } from '../../src/protocol/bytes.ts';
import { KINDS } from '../../src/protocol/constants.ts';
import { type PrivateNotice, readPrivateNotice } from '../../src/protocol/private-notice.ts';
import {
  collect,
  type Harness,
  harnessPolicy,
  type Person,
  person,
  startHarness,
  tagValue,
} from '../fakes/agent-harness.ts';
import { eventually } from '../fakes/ldk-wait.ts';
import { type LnurlServer, startLnurlServer, startWallet, type Wallet } from '../fakes/lnurl-server.ts';
import { unverifiedTasks } from '../fakes/verify-tasks.ts';

// Large enough that, once settled, the agent's side of the payer -> agent channel is above the channel reserve
// (1% of 10M sat) by more than the poster's share: the poster's refund goes back over that channel.
const AMOUNT = 300_000_000n;
const SHARE_BPS = 6000;

let harness: Harness;
let arbitrator: Person;
let posterWallet: Wallet;
let workerWallet: Wallet;
let lnurl: LnurlServer;

test.before(async () => {
  arbitrator = person();
  harness = await startHarness({
    policy: { arbitrators: [arbitrator.pubkey], disputeDeadlineRule: 'refund' },
    agent: { lightningAddress: { allowHttp: true, allowPrivateAddresses: true } },
  });
  posterWallet = startWallet(harness.sandbox.payer);
  workerWallet = startWallet(harness.sandbox.worker);
  lnurl = await startLnurlServer(posterWallet);
});

test.after(async () => {
  posterWallet?.stop();
  workerWallet?.stop();
  await lnurl?.stop();
  await harness?.stop();
});

// ------------------------------------------------------------------------------------------------- helpers

const fee = () => harness.feeFor(AMOUNT);
const net = () => AMOUNT - fee();
/** docs/protocol.md §6.1: the worker gets floor((amount - fee) x share_bps / 10000), the poster the rest. */
const workerShare = () => (net() * BigInt(SHARE_BPS)) / 10_000n;
const posterShare = () => net() - workerShare();

const label = (event: NostrEvent) => event.tags.find((tag) => tag[0] === 'l')?.[1];

async function taskOf(taskId: string) {
  const task = await harness.store.read((reader) => reader.tasks.get(taskId));
  if (!task) throw new Error(`no task ${taskId.slice(0, 8)} in the store`);
  return task;
}

async function payerSpendable(): Promise<bigint> {
  return (await harness.sandbox.payer.getInfo()).localBalanceMsat;
}

/** What the worker node can still receive: it goes down by exactly what the worker is paid. */
async function workerReceivable(): Promise<bigint> {
  return (await harness.sandbox.worker.getInfo()).remoteBalanceMsat;
}

/** The private notices (NIP-17 gift wraps, kind 1059) the agent sent to `to` about a task, opened. */
async function noticesTo(to: Person, taskId: string): Promise<PrivateNotice[]> {
  const wraps = await collect(harness.client, { kinds: [KINDS.giftWrap], '#p': [to.pubkey] });
  return wraps
    .map((wrap) => readPrivateNotice(to.secretKey, harness.agentKey.pubkey, wrap))
    .filter((notice): notice is PrivateNotice => notice !== null && notice.taskId === taskId);
}

function waitForNotices(to: Person, taskId: string, count: number, timeoutMs = 20_000) {
  return eventually(
    `${count} private notice(s) reached ${to === harness.poster ? 'the poster' : 'the worker'}`,
    async () => {
      const notices = await noticesTo(to, taskId);
      return notices.length >= count ? notices : undefined;
    },
    timeoutMs,
  );
}

function payoutTags(paid: NostrEvent) {
  return paid.tags
    .filter((tag) => tag[0] === 'payout')
    .map(([, recipient, amount, paymentHash, preimage]) => ({
      recipient,
      amountMsat: BigInt(amount!),
      paymentHash,
      preimage,
    }));
}

function printRoute(name: string, fromMs: number, toMs: number): void {
  console.log(`route ${name}: verdict -> money moved ${toMs - fromMs} ms`);
}

async function custodyGauge(): Promise<number> {
  const metric = await harness.agent.ctx.metrics.custodyHeldMsat.get();
  return metric.values[0]?.value ?? 0;
}

/** Funded, submitted, disputed by the poster: a task waiting for its arbitrator. */
async function disputedTask() {
  const funding = await harness.fundTask(AMOUNT);
  const taskId = funding.listing.id;
  const submitInvoice = await harness.submitWork(taskId, AMOUNT);
  await harness.act(harness.poster, 'dispute', taskId, {
    content: 'The haiku has six syllables in line one.',
  });
  const disputed = await harness.waitForState(taskId, 'disputed');
  assert.is(tagValue(disputed, 'opened_by'), 'poster');
  return { ...funding, taskId, submitInvoice };
}

/**
 * A disputed task split 60/40 by the arbitrator, up to the settled hold: `payout_pending` for the poster, who is
 * asked privately for an invoice. Returns when the verdict was published (ms), for the route's time.
 */
async function splitIntoCustody() {
  const task = await disputedTask();
  const verdict = await harness.act(arbitrator, 'verdict', task.taskId, {
    tags: [
      ['outcome', 'split'],
      ['share_bps', String(SHARE_BPS)],
    ],
    content: 'Half-right: 60 / 40.',
  });
  const verdictAt = Date.now();
  const settling = await harness.waitForState(task.taskId, 'settling');
  assert.is(tagValue(settling, 'reason'), 'verdict');
  assert.is(tagValue(settling, 'resolution'), 'split');
  assert.is(tagValue(settling, 'share_bps'), String(SHARE_BPS));
  assert.ok(
    settling.tags.some((tag) => tag[0] === 'e' && tag[1] === verdict.id && tag[3] === 'verdict'),
    'settling cites the verdict it acts on',
  );
  const pending = await harness.waitForState(task.taskId, 'payout_pending');
  // Both sides are asked publicly: the worker's invoice from submit is for amount - fee, not for its share.
  assert.equal(
    pending.tags.filter((tag) => tag[0] === 'recipient').map((tag) => tag[1]),
    ['worker', 'poster'],
  );
  // The settlement proof is on the transition right after settling.
  assert.is(tagValue(pending, 'payment_hash'), tagValue(task.offered, 'payment_hash'));
  assert.is(sha256Hex(tagValue(pending, 'preimage')!), tagValue(pending, 'payment_hash'));
  assert.is(tagValue(pending, 'amount'), AMOUNT.toString());
  assert.is(tagValue(pending, 'fee'), fee().toString());
  assert.is((await task.payment).status, 'succeeded', "the payer's hold was settled");

  const [notice] = await waitForNotices(harness.poster, task.taskId, 1);
  assert.is(notice?.topic, 'payout_invoice_needed');
  assert.is(notice?.facts.recipient, 'poster');
  assert.is(notice?.facts.amount_msat, posterShare().toString());

  const settled = await taskOf(task.taskId);
  assert.equal(
    settled.payouts.map((payout) => [payout.recipient, payout.amountMsat]),
    [
      ['worker', workerShare()],
      ['poster', posterShare()],
    ],
  );
  return { ...task, verdictAt };
}

/**
 * WORKAROUND (see the last test): the worker's submit invoice is for amount - fee and can never pay a split share,
 * so the worker gives an invoice for exactly its share, and is paid from custody.
 */
async function payWorkerShare(taskId: string) {
  const invoice = await workerWallet.invoice({ amountMsat: workerShare(), description: 'my share' });
  await harness.act(harness.worker, 'payout_invoice', taskId, {
    tags: [
      ['bolt11', invoice.bolt11],
      ['recipient', 'worker'],
    ],
  });
  const received = await workerWallet.waitReceived(invoice.paymentHash);
  assert.is(received.receivedMsat, workerShare(), 'the worker node received exactly its share');
  return invoice;
}

/** The paid transition and the store agree: both shares paid once each, and worker + poster + fee = amount. */
async function assertPaidSplit(
  taskId: string,
  paid: NostrEvent,
  workerHash: string,
  posterHash: string,
): Promise<void> {
  const payouts = payoutTags(paid);
  assert.equal(
    payouts.map(({ recipient, amountMsat, paymentHash }) => [recipient, amountMsat, paymentHash]),
    [
      ['worker', workerShare(), workerHash],
      ['poster', posterShare(), posterHash],
    ],
  );
  for (const payout of payouts)
    assert.is(sha256Hex(payout.preimage!), payout.paymentHash, 'proof of payment');
  assert.is(workerShare() + posterShare() + fee(), AMOUNT, 'conservation: worker + poster + fee = amount');
  assert.is(tagValue(paid, 'routing_fee'), '0', 'direct channels: no routing fee');

  const task = await taskOf(taskId);
  assert.is(task.state, 'paid');
  assert.is(task.ledger.paidToWorkerMsat, workerShare());
  assert.is(task.ledger.paidToPosterMsat, posterShare());
  assert.is(task.ledger.feeMsat, fee());
  assert.is(task.ledger.heldMsat, 0n);
  assert.is(
    task.ledger.paidToWorkerMsat + task.ledger.paidToPosterMsat + task.ledger.feeMsat + task.ledger.heldMsat,
    task.ledger.receivedMsat,
  );
  const rows = await harness.store.read((reader) => reader.payouts.forTask(taskId));
  const succeeded = rows.filter((row) => row.state === 'succeeded');
  assert.equal(
    succeeded.map((row) => row.recipient).sort(),
    ['poster', 'worker'],
    'one success per recipient',
  );
  assert.equal(
    succeeded.map((row) => row.paymentHash).sort(),
    [workerHash, posterHash].sort(),
    'each paid to its own invoice',
  );
}

// ------------------------------------------------------------------------------------------------- tests

test('split 60/40: the worker and the poster (by a BOLT11 invoice from the payer node) each get exactly their share', async () => {
  const payerBefore = await payerSpendable();
  const workerBefore = await workerReceivable();
  const task = await splitIntoCustody();

  // The whole of amount - fee is in custody once the hold settled.
  await eventually(
    'the custody gauge shows amount - fee',
    async () => (await custodyGauge()) === Number(net()),
  );

  const worker = await payWorkerShare(task.taskId);
  const invoice = await posterWallet.invoice({ amountMsat: posterShare(), description: 'my refund' });
  await harness.act(harness.poster, 'payout_invoice', task.taskId, {
    tags: [
      ['bolt11', invoice.bolt11],
      ['recipient', 'poster'],
    ],
  });
  const paid = await harness.waitForState(task.taskId, 'paid');
  printRoute('split-bolt11', task.verdictAt, Date.now());

  const received = await posterWallet.waitReceived(invoice.paymentHash);
  assert.is(received.receivedMsat, posterShare(), 'the payer node received exactly the poster share');
  await assertPaidSplit(task.taskId, paid, worker.paymentHash, invoice.paymentHash);
  assert.is(
    (await payerSpendable()) - payerBefore,
    posterShare() - AMOUNT,
    'the payer paid the amount and got the poster share back',
  );
  assert.is(workerBefore - (await workerReceivable()), workerShare(), 'the worker node got its share, once');
  await eventually('the custody gauge is back to 0', async () => (await custodyGauge()) === 0);
});

test("split 60/40: the poster's share goes to a Lightning address; the agent fetches an invoice for exactly it", async () => {
  const address = lnurl.serve('poster');
  const payerBefore = await payerSpendable();
  const task = await splitIntoCustody();
  const worker = await payWorkerShare(task.taskId);

  await harness.act(harness.poster, 'payout_invoice', task.taskId, {
    tags: [
      ['lud16', address],
      ['recipient', 'poster'],
    ],
  });
  const paid = await harness.waitForState(task.taskId, 'paid');
  printRoute('split-lud16', task.verdictAt, Date.now());

  const callbacks = lnurl.callbacks('poster');
  assert.equal(
    callbacks.map((request) => request.amountMsat),
    [posterShare()],
    'one look-up, for amount=<poster share>',
  );
  const served = callbacks[0]!.invoice!;
  assert.is(
    served.descriptionHash,
    bytesToHex(sha256(new TextEncoder().encode(lnurl.metadataOf('poster')))),
    'LUD-06 description hash',
  );
  const received = await posterWallet.waitReceived(served.paymentHash);
  assert.is(received.receivedMsat, posterShare());
  await assertPaidSplit(task.taskId, paid, worker.paymentHash, served.paymentHash);
  assert.is((await payerSpendable()) - payerBefore, posterShare() - AMOUNT);
});

test('split 60/40: a Lightning-address service that answers with the wrong amount is forgotten and the poster asked again; a later BOLT11 invoice is paid, once', async () => {
  const address = lnurl.serve('sloppy', 'wrong_amount');
  const payerBefore = await payerSpendable();
  const task = await splitIntoCustody();
  const worker = await payWorkerShare(task.taskId);

  await harness.act(harness.poster, 'payout_invoice', task.taskId, {
    tags: [
      ['lud16', address],
      ['recipient', 'poster'],
    ],
  });
  const notices = await waitForNotices(harness.poster, task.taskId, 2);
  const again = notices.find((notice) => notice.facts.address_failure !== undefined);
  assert.ok(again, 'a second notice says why the address failed');
  assert.is(again?.topic, 'payout_invoice_needed');
  assert.is(again?.facts.amount_msat, posterShare().toString());
  assert.match(again?.facts.address_failure ?? '', /not the .* msat asked for/);

  const sloppy = lnurl.callbacks('sloppy');
  assert.equal(
    sloppy.map((request) => request.amountMsat),
    [posterShare()],
    'one look-up, for amount=<poster share>',
  );
  assert.is(sloppy[0]?.invoice?.amountMsat, posterShare() + 1_000n);
  await harness.agent.settle();
  const waiting = await taskOf(task.taskId);
  assert.is(waiting.state, 'payout_pending');
  const posterPayout = waiting.payouts.find((payout) => payout.recipient === 'poster');
  assert.is(posterPayout?.state, 'needs_invoice');
  assert.is(posterPayout?.address ?? null, null, 'the address is forgotten');

  const invoice = await posterWallet.invoice({ amountMsat: posterShare(), description: 'try again' });
  await harness.act(harness.poster, 'payout_invoice', task.taskId, {
    tags: [
      ['bolt11', invoice.bolt11],
      ['recipient', 'poster'],
    ],
  });
  const paid = await harness.waitForState(task.taskId, 'paid');
  printRoute('split-lud16-wrong-amount-then-bolt11', task.verdictAt, Date.now());

  assert.is((await posterWallet.waitReceived(invoice.paymentHash)).receivedMsat, posterShare());
  const wrong = await harness.sandbox.payer.lookup(sloppy[0]!.invoice!.paymentHash);
  assert.is(wrong?.receivedMsat, 0n, `the wrong-amount invoice was never paid (it is ${wrong?.state})`);
  await assertPaidSplit(task.taskId, paid, worker.paymentHash, invoice.paymentHash);
  assert.is(lnurl.callbacks('sloppy').length, 1, 'the forgotten address is not looked up again');
  assert.is((await payerSpendable()) - payerBefore, posterShare() - AMOUNT, 'the poster was paid once');
});

test('no verdict, rule "refund": the guardian refunds the disputed task at its height, before the node would', async () => {
  const payerBefore = await payerSpendable();
  const task = await disputedTask();
  const claimDeadline = Number(tagValue(task.funded, 'claim_deadline'));
  const guardianAt = Number(tagValue(task.funded, 'hold_deadline'));
  assert.is(guardianAt, claimDeadline - harness.agent.ctx.policy.safetyMarginBlocks);
  assert.ok(harness.sandbox.height < guardianAt - 1, 'the dispute opened well before the guardian height');

  harness.sandbox.mine(guardianAt - harness.sandbox.height - 1);
  await harness.agent.settle();
  assert.is((await taskOf(task.taskId)).state, 'disputed', 'one block before the guardian height: nothing');

  harness.sandbox.mine(1);
  const triggeredAt = Date.now();
  const refunding = await harness.waitForState(task.taskId, 'refunding');
  assert.is(tagValue(refunding, 'reason'), 'hold_deadline');
  const refunded = await harness.waitForState(task.taskId, 'refunded');
  printRoute('no-verdict-refund (guardian)', triggeredAt, Date.now());

  assert.is(
    tagValue(refunded, 'reason'),
    'hold_deadline',
    'the agent refunded, the node did not cancel by itself',
  );
  assert.is(tagValue(refunded, 'amount'), AMOUNT.toString());
  assert.ok(Number(tagValue(refunded, 'height')) < claimDeadline, 'refunded before the claim deadline');
  assert.ok(harness.sandbox.height < claimDeadline, 'the chain never reached the claim deadline');
  const hold = await harness.sandbox.agent.lookup(tagValue(task.offered, 'payment_hash')!);
  assert.is(hold?.state, 'CANCELED');
  assert.is(hold?.cancelReason, 'requested', 'cancelled on request, not at the node deadline');
  const stored = await taskOf(task.taskId);
  assert.is(stored.reason, 'hold_deadline');
  assert.is(stored.ledger.refundedMsat, AMOUNT);
  assert.is(stored.ledger.feeMsat, 0n, 'a refund earns no fee');
  assert.is((await task.payment).status, 'failed', "the payer's HTLC was failed back");
  assert.is(await payerSpendable(), payerBefore, 'the payer can spend exactly what it could before');
  assert.equal((await harness.agentEvents(task.taskId)).map(label), [
    'offered',
    'funded',
    'claimed',
    'submitted',
    'disputed',
    'refunding',
    'refunded',
  ]);
});

test('no verdict, rule "custody": the guardian settles into custody (amount - fee held); the verdict then pays the worker from it', async () => {
  await harness.restartAgent({
    policy: harnessPolicy({ arbitrators: [arbitrator.pubkey], disputeDeadlineRule: 'custody' }),
  });
  const workerBefore = await workerReceivable();
  const task = await disputedTask();
  assert.is(tagValue(task.offered, 'dispute_deadline_rule'), 'custody');
  const claimDeadline = Number(tagValue(task.funded, 'claim_deadline'));
  const guardianAt = Number(tagValue(task.funded, 'hold_deadline'));

  harness.sandbox.mine(guardianAt - harness.sandbox.height);
  const settling = await harness.waitForState(task.taskId, 'settling');
  assert.is(tagValue(settling, 'reason'), 'hold_deadline');
  assert.is(tagValue(settling, 'resolution'), 'pending_verdict');
  const custody = await harness.waitForState(task.taskId, 'custody');
  assert.is(tagValue(custody, 'held'), net().toString(), 'held = amount - fee');
  assert.is(tagValue(custody, 'resolution'), 'pending_verdict');
  assert.is(sha256Hex(tagValue(custody, 'preimage')!), tagValue(task.offered, 'payment_hash'));
  assert.ok(Number(tagValue(custody, 'height')) < claimDeadline, 'settled before the claim deadline');
  assert.is((await task.payment).status, 'succeeded');
  const held = await taskOf(task.taskId);
  assert.is(held.state, 'custody');
  assert.is(held.ledger.heldMsat, net());
  assert.is(held.payouts.length, 0, 'nobody is paid before a verdict');
  await eventually(
    'the custody gauge shows amount - fee',
    async () => (await custodyGauge()) === Number(net()),
  );

  const verdict = await harness.act(arbitrator, 'verdict', task.taskId, {
    tags: [['outcome', 'worker']],
    content: 'The work is fine.',
  });
  const verdictAt = Date.now();
  const paid = await harness.waitForState(task.taskId, 'paid');
  printRoute('no-verdict-custody-then-worker', verdictAt, Date.now());

  const events = await harness.agentEvents(task.taskId);
  const afterVerdict = events.find(
    (event) => event.tags.some((tag) => tag[0] === 'e' && tag[1] === verdict.id) && label(event) !== 'paid',
  );
  assert.ok(afterVerdict, 'a transition cites the verdict on the money in custody');
  assert.equal(
    payoutTags(paid).map(({ recipient, amountMsat, paymentHash }) => [recipient, amountMsat, paymentHash]),
    [['worker', net(), task.submitInvoice.paymentHash]],
    "paid to the worker's submit invoice, amount - fee",
  );
  const stored = await taskOf(task.taskId);
  assert.is(stored.ledger.paidToWorkerMsat, net());
  assert.is(stored.ledger.heldMsat, 0n);
  assert.is(stored.ledger.paidToWorkerMsat + stored.ledger.feeMsat, AMOUNT, 'conservation');
  assert.is(workerBefore - (await workerReceivable()), net(), 'the worker node received amount - fee');
  await eventually('the custody gauge is back to 0', async () => (await custodyGauge()) === 0);
});

// Last: on failure it leaves a task stuck in custody behind it.
test('split 60/40: the worker, whose submit invoice is for amount - fee, is asked for an invoice for its share', async () => {
  const task = await splitIntoCustody();
  // docs/protocol.md §6.1: a payout invoice must be for exactly what its recipient is owed. The submit invoice
  // (amount - fee) cannot pay the worker's share, so the worker must be asked for one, as the poster is.
  const [notice] = await waitForNotices(harness.worker, task.taskId, 1, 15_000).catch(async (error) => {
    const stuck = await taskOf(task.taskId);
    const worker = stuck.payouts.find((payout) => payout.recipient === 'worker');
    throw new Error(
      `${(error as Error).message}: the task is ${stuck.state}, the worker payout ${worker?.state} with the submit invoice (${worker?.amountMsat} msat owed) and ${worker?.attempts} attempts`,
    );
  });
  assert.is(notice?.topic, 'payout_invoice_needed');
  assert.is(notice?.facts.recipient, 'worker');
  assert.is(notice?.facts.amount_msat, workerShare().toString());

  const worker = await payWorkerShare(task.taskId);
  const invoice = await posterWallet.invoice({ amountMsat: posterShare(), description: 'my refund' });
  await harness.act(harness.poster, 'payout_invoice', task.taskId, {
    tags: [
      ['bolt11', invoice.bolt11],
      ['recipient', 'poster'],
    ],
  });
  const paid = await harness.waitForState(task.taskId, 'paid');
  await assertPaidSplit(task.taskId, paid, worker.paymentHash, invoice.paymentHash);
});

test('every task this suite ran verifies from the relay alone (verifyTask, as `escrow-agent verify`)', async () => {
  assert.equal(await unverifiedTasks(harness), []);
});

test.run();
