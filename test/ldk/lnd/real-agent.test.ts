// The agent end to end on REAL LND (issue #17): the same agent as in test/agent (test/fakes/agent-harness.ts:
// embedded relay, SQLite, nostr-tools clients), its Lightning backend an LndBackend on the regtest network's
// agent node (test/fakes/lnd-regtest.ts: LND v0.21.6-beta on btcd), the payer and the worker LND nodes of that
// network paying the holds and receiving the payouts. A task is paid (the worker's node receives exactly
// amount - fee), refunded on cancel, refunded by the guardian before LND's own auto-cancel, paid after the
// agent's LND is killed and restarted while the hold is accepted, and paid when the worker's node holds the
// payout's HTLC for longer than the agent's pay() waits; and an agent in a process of its own
// (lnd-regtest-agent-child.ts), SIGKILLed right after LND settled the hold, is finished exactly once by the
// agent started again on the same store.
//
// Without the binaries the suite prints one SKIP line.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createHodlInvoice, getInvoice, settleHodlInvoice } from 'lightning';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LndBackend } from '../../../src/ldk/lnd/index.ts';
import { type Harness, startHarness, tagValue } from '../../fakes/agent-harness.ts';
import { eventually, newPreimage } from '../../fakes/ldk-wait.ts';
import {
  buildScriptBinDir,
  HOLD_EXPIRY_DELTA,
  LndRegtest,
  lndBinDir,
  lndRegtestUnavailable,
} from '../../fakes/lnd-regtest.ts';
import type { ChildConfig } from '../../fakes/lnd-regtest-agent-child.ts';
import { settledBalance } from '../conformance/helpers.ts';

const SUITE = 'the agent on real LND v0.21.6-beta (regtest)';
const AMOUNT = 40_000_000n;
const PAY_TIMEOUT_SECONDS = 3;
const PREIMAGE_KEY = randomBytes(32);
const CHILD = fileURLToPath(new URL('../../fakes/lnd-regtest-agent-child.ts', import.meta.url));

const test = suite(SUITE);
let net: LndRegtest;
let harness: Harness;
let agentLnd: LndBackend;
let payer: LndBackend;
let worker: LndBackend;

async function workerInvoice(id: string) {
  return getInvoice({ lnd: net.node('worker').lnd, id });
}

test.before(async () => {
  net = await LndRegtest.start();
  agentLnd = await LndBackend.connect(net.adapterConfig('agent'));
  payer = await LndBackend.connect(net.adapterConfig('payer'));
  worker = await LndBackend.connect(net.adapterConfig('worker'));
  harness = await startHarness({
    policy: { backendAutoCancelBlocks: HOLD_EXPIRY_DELTA },
    agent: { lightning: agentLnd, payTimeoutSeconds: PAY_TIMEOUT_SECONDS },
    preimageKey: PREIMAGE_KEY,
    wallets: {
      payer,
      worker: {
        createInvoice: net.plainInvoices('worker'),
      },
    },
  });
});

test.after(async () => {
  await harness?.stop();
  agentLnd?.close();
  payer?.close();
  worker?.close();
  await net?.stop();
});

test('a task goes from posted to paid on LND, and the worker node receives exactly amount - fee', async () => {
  const { listing, offered, payment } = await harness.fundTask(AMOUNT);
  const invoice = await harness.submitWork(listing.id, AMOUNT);
  await harness.act(harness.poster, 'approve', listing.id);

  const settled = await harness.waitForState(listing.id, 'settled');
  const preimage = tagValue(settled, 'preimage')!;
  assert.is(
    createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex'),
    tagValue(offered, 'payment_hash'),
  );
  await harness.waitForState(listing.id, 'paid');
  const paid = await payment;
  assert.is(paid.status === 'succeeded' && paid.preimage, preimage);
  const received = await workerInvoice(invoice.paymentHash);
  assert.ok(received.is_confirmed, 'the worker node settled the payout invoice');
  assert.is(BigInt(received.received_mtokens), AMOUNT - harness.feeFor(AMOUNT));
  const task = await harness.store.read((reader) => reader.tasks.get(listing.id));
  assert.is(task?.ledger.paidToWorkerMsat, AMOUNT - harness.feeFor(AMOUNT));
  const hold = await agentLnd.lookup(tagValue(offered, 'payment_hash')!);
  assert.is(hold?.state, 'SETTLED');
});

test('a funded task cancelled by the poster is refunded: the payer node gets its money back', async () => {
  const payerBefore = await settledBalance(payer);
  const { listing, offered, payment } = await harness.fundTask(AMOUNT);
  await harness.act(harness.poster, 'cancel', listing.id);

  await harness.waitForState(listing.id, 'refunded');
  const outcome = await payment;
  assert.is(outcome.status === 'failed' && outcome.reason, 'rejected');
  assert.is((await agentLnd.lookup(tagValue(offered, 'payment_hash')!))?.state, 'CANCELED');
  assert.is(await settledBalance(payer), payerBefore);
});

test("the guardian refunds a funded task before LND's own auto-cancel (holdexpirydelta 18)", async () => {
  const payerBefore = await settledBalance(payer);
  const { listing, offered, funded, payment } = await harness.fundTask(AMOUNT);
  const paymentHash = tagValue(offered, 'payment_hash')!;
  const claimDeadline = Number(tagValue(funded, 'claim_deadline'));
  const guardianAt = Number(tagValue(funded, 'hold_deadline'));
  const hold = await agentLnd.lookup(paymentHash);
  assert.is(claimDeadline, hold?.claimDeadlineHeight, "the deadline is LND's: HTLC expiry - 18");
  assert.is(claimDeadline, hold!.htlcExpiryHeight! - HOLD_EXPIRY_DELTA);
  assert.ok(guardianAt < claimDeadline);

  await net.mine(guardianAt - (await net.mine(0)));

  const refunded = await harness.waitForState(listing.id, 'refunded');
  assert.ok(Number(tagValue(refunded, 'height')) < claimDeadline, 'refunded before the claim deadline');
  const canceled = await agentLnd.lookup(paymentHash);
  assert.is(canceled?.state, 'CANCELED');
  assert.is(canceled?.cancelReason, 'requested', 'the agent canceled it, not LND');
  assert.is((await payment).status, 'failed');
  const task = await harness.store.read((reader) => reader.tasks.get(listing.id));
  assert.is(task?.reason, 'hold_deadline');
  assert.is(await settledBalance(payer), payerBefore);
});

test("the agent's LND killed and restarted while a hold is accepted: the task is still paid, once", async () => {
  const { listing, offered, payment } = await harness.fundTask(AMOUNT);
  const invoice = await harness.submitWork(listing.id, AMOUNT);

  await net.restart('agent');
  assert.is((await agentLnd.lookup(tagValue(offered, 'payment_hash')!))?.state, 'ACCEPTED');
  await harness.act(harness.poster, 'approve', listing.id);

  await harness.waitForState(listing.id, 'paid', 60_000);
  assert.is((await payment).status, 'succeeded');
  const received = await workerInvoice(invoice.paymentHash);
  assert.is(BigInt(received.received_mtokens), AMOUNT - harness.feeFor(AMOUNT));
  const rows = await harness.store.read((reader) => reader.payouts.forTask(listing.id));
  assert.equal(
    rows.map((row) => [row.state, row.paymentHash]),
    [['succeeded', invoice.paymentHash]],
  );
});

test("a payout whose HTLC the worker's node holds longer than pay() waits is paid once it settles", async () => {
  const { listing } = await harness.fundTask(AMOUNT);
  await harness.act(harness.worker, 'claim', listing.id);
  await harness.waitForState(listing.id, 'claimed');
  const { preimage, paymentHash } = newPreimage();
  const held = await createHodlInvoice({
    lnd: net.node('worker').lnd,
    id: paymentHash,
    mtokens: (AMOUNT - harness.feeFor(AMOUNT)).toString(),
    description: 'the work, held',
    expires_at: new Date(Date.now() + 3600_000).toISOString(),
  });
  await harness.act(harness.worker, 'submit', listing.id, {
    tags: [['bolt11', held.request]],
    content: 'done',
  });
  await harness.waitForState(listing.id, 'submitted');
  await harness.act(harness.poster, 'approve', listing.id);

  await eventually(
    'the worker node holds the payout',
    async () => (await workerInvoice(paymentHash)).is_held,
  );
  // Longer than the agent's pay() waits: it answers pending, and the payout stays in flight.
  await new Promise((resolve) => setTimeout(resolve, (PAY_TIMEOUT_SECONDS + 2) * 1000));
  const waiting = await harness.store.read((reader) => reader.payouts.forTask(listing.id));
  assert.equal(
    waiting.map((row) => row.state),
    ['in_flight'],
  );
  assert.is((await harness.store.read((reader) => reader.tasks.get(listing.id)))?.state, 'settled');

  await settleHodlInvoice({ lnd: net.node('worker').lnd, secret: preimage });

  await harness.waitForState(listing.id, 'paid', 60_000);
  const rows = await harness.store.read((reader) => reader.payouts.forTask(listing.id));
  assert.equal(
    rows.map((row) => [row.state, row.paymentHash]),
    [['succeeded', paymentHash]],
  );
  const received = await workerInvoice(paymentHash);
  assert.is(BigInt(received.received_mtokens), AMOUNT - harness.feeFor(AMOUNT));
});

test('the agent SIGKILLed right after LND settled the hold finishes the task once after a restart', async () => {
  await harness.stopAgent();
  const config: ChildConfig = {
    storeUrl: harness.storeUrl,
    preimageKeyHex: PREIMAGE_KEY.toString('hex'),
    agentSecretHex: Buffer.from(harness.agentKey.secretKey).toString('hex'),
    relayUrl: harness.relay.url,
    lnd: net.adapterConfig('agent'),
    backendAutoCancelBlocks: HOLD_EXPIRY_DELTA,
    payTimeoutSeconds: PAY_TIMEOUT_SECONDS,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  );
  try {
    await eventually('the agent child runs', async () => output.includes('ready'), 60_000);
    const { listing, offered, payment } = await harness.fundTask(AMOUNT);
    const invoice = await harness.submitWork(listing.id, AMOUNT);
    await harness.act(harness.poster, 'approve', listing.id);

    assert.is(await exited, 'SIGKILL', output);
    const paymentHash = tagValue(offered, 'payment_hash')!;
    assert.is((await agentLnd.lookup(paymentHash))?.state, 'SETTLED', 'LND settled before the kill');
    const stuck = await harness.store.read((reader) => reader.tasks.get(listing.id));
    assert.is(stuck?.state, 'settling', 'the intent was committed, the confirmation was not');

    await harness.startAgent();

    const settled = await harness.waitForState(listing.id, 'settled', 60_000);
    assert.ok(tagValue(settled, 'preimage'));
    await harness.waitForState(listing.id, 'paid', 60_000);
    assert.is((await payment).status, 'succeeded');
    const received = await workerInvoice(invoice.paymentHash);
    assert.is(BigInt(received.received_mtokens), AMOUNT - harness.feeFor(AMOUNT));
    const rows = await harness.store.read((reader) => reader.payouts.forTask(listing.id));
    assert.equal(
      rows.map((row) => [row.state, row.paymentHash]),
      [['succeeded', invoice.paymentHash]],
    );
    const settledEvents = (await harness.agentEvents(listing.id)).filter((event) =>
      event.tags.some((tag) => tag[0] === 'l' && tag[1] === 'settled'),
    );
    assert.is(settledEvents.length, 1, 'settled once');
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

const unavailable = lndRegtestUnavailable();
if (unavailable === null) {
  test.run();
} else {
  console.log(`SKIP ${SUITE}: ${unavailable}`);
  const skipped = suite(SUITE);
  skipped.skip('every case', () => {});
  skipped('scripts/build-lnd.mjs builds into the folder this suite looks in', () => {
    assert.is(buildScriptBinDir(), lndBinDir());
  });
  skipped.run();
}
