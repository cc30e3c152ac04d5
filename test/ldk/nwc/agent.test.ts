// The agent on NWC, end to end: the same agent as in test/agent, but its Lightning node is the sandbox's agent
// node reached through NIP-47 (NwcBackend -> a relay of its own on 127.0.0.1 -> the sandbox wallet service).
// A task is paid, a funded task is refunded on cancel, and the guardian refunds before the node's deadline on
// blocks it learns of by polling get_info (NWC has no block notification).
import { createHash } from 'node:crypto';
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NwcBackend } from '../../../src/ldk/nwc/index.ts';
import { NwcWalletService } from '../../../src/ldk/nwc-service/nwc-wallet-service.ts';
import { type Harness, startHarness, tagValue } from '../../fakes/agent-harness.ts';
import { TEST_BACKEND_OPTIONS } from '../../fakes/nwc-sandbox.ts';
import { startTestRelay, type TestRelay } from '../../fakes/relay.ts';

const test = suite('the agent on NWC');
const AMOUNT = 40_000_000n;
let harness: Harness;
let nwcRelay: TestRelay;
let service: NwcWalletService;
let lightning: NwcBackend;

test.before(async () => {
  harness = await startHarness();
  nwcRelay = await startTestRelay();
  const clientSecret = generateSecretKey();
  service = await NwcWalletService.start({
    backend: harness.sandbox.agent,
    relays: [nwcRelay.url],
    walletSecretKey: generateSecretKey(),
    clientPubkeys: [getPublicKey(clientSecret)],
  });
  lightning = await NwcBackend.connect({ ...TEST_BACKEND_OPTIONS, uri: service.connectionUri(clientSecret) });
  await harness.restartAgent({ lightning });
});

test.after(async () => {
  await harness?.stop();
  lightning?.close();
  await service?.stop();
  await nwcRelay?.stop();
});

test('a task goes from posted to paid with the node behind NWC, and the worker is paid amount - fee', async () => {
  const answeredBefore = service.counters.answered;
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
  assert.is(
    (await harness.sandbox.worker.paymentStatus(invoice.paymentHash)) ?? null,
    null,
    'the worker received, it did not send',
  );
  const task = await harness.store.read((reader) => reader.tasks.get(listing.id));
  assert.is(task?.ledger.paidToWorkerMsat, AMOUNT - harness.feeFor(AMOUNT));
  assert.ok(service.counters.answered > answeredBefore, 'the node was reached through the wallet service');
});

test('a funded task cancelled by the poster is refunded through NWC: the payer gets its money back', async () => {
  const payerBefore = (await harness.sandbox.payer.getInfo()).localBalanceMsat;
  const { listing, payment } = await harness.fundTask(AMOUNT);
  await harness.act(harness.poster, 'cancel', listing.id);

  await harness.waitForState(listing.id, 'refunded');
  assert.is((await payment).status, 'failed');
  assert.is((await harness.sandbox.payer.getInfo()).localBalanceMsat, payerBefore);
});

test('the guardian refunds a funded task before the node deadline NWC reported, on blocks it polls', async () => {
  const { listing, offered, funded, payment } = await harness.fundTask(AMOUNT);
  const claimDeadline = Number(tagValue(funded, 'claim_deadline'));
  const guardianAt = Number(tagValue(funded, 'hold_deadline'));
  const hold = await harness.sandbox.agent.lookup(tagValue(offered, 'payment_hash')!);
  assert.is(
    claimDeadline,
    hold?.claimDeadlineHeight,
    "the deadline is the node's, carried as settle_deadline",
  );

  harness.sandbox.mine(guardianAt - harness.sandbox.height);

  const refunded = await harness.waitForState(listing.id, 'refunded');
  assert.ok(Number(tagValue(refunded, 'height')) < claimDeadline, 'refunded before the claim deadline');
  assert.is((await payment).status, 'failed');
  const task = await harness.store.read((reader) => reader.tasks.get(listing.id));
  assert.is(task?.reason, 'hold_deadline');
});

test.run();
