// `sync-lightning` (and `holds stuck`) on real differences between the node and the store: a payment the node
// accepted while the agent missed its event (the running agent's node events dropped; the agent stopped before the
// poster paid), and a payout the node made after which the agent was killed before recording it. A dry run lists
// each difference (exit 1) and changes nothing, --execute records it through the handlers (the task funded; the
// payout succeeded and the task paid), a second --execute finds store and node in agreement and changes nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OpsFixture, shown, sleep } from './ops-fixture.ts';

const AMOUNT = 20_000_000n;
let fixture: OpsFixture;

test.before(async () => {
  fixture = await OpsFixture.create();
  await fixture.startAgent();
});

test.after(async () => {
  await fixture?.stop();
});

function paymentHashOf(offered: { tags: string[][] }): string {
  return offered.tags.find((tag) => tag[0] === 'payment_hash')![1]!;
}

async function untilAccepted(hash: string): Promise<void> {
  for (let tries = 0; tries < 300; tries++) {
    if ((await fixture.sandbox!.agent.lookup(hash))?.state === 'ACCEPTED') return;
    await sleep(50);
  }
  throw new Error('the node never accepted the payment');
}

test('running agent: a payment whose node event the agent missed; sync-lightning records it', async () => {
  const listing = await fixture.postTask(AMOUNT);
  const offered = await fixture.waitForState(listing.id, 'offered');
  // The node's events are dropped until the end: the agent never hears of this payment by itself (an event
  // dispatched a little after the node shows ACCEPTED must not reach it either).
  fixture.gate.muted = true;
  fixture.pay(offered);
  await untilAccepted(paymentHashOf(offered));
  assert.is(await fixture.taskState(listing.id), 'offered', 'the agent did not see it');

  const stuck = await fixture.cli('holds', 'stuck');
  console.log(`\n$ escrow-agent holds stuck   (running agent)\n${shown(stuck)}`);
  assert.is(stuck.code, 1, shown(stuck));
  assert.match(stuck.out, 'the node accepted the payment; the store still has the hold as open');
  assert.match(stuck.out, 'run: escrow-agent sync-lightning');

  const before = await fixture.snapshot();
  const dry = await fixture.cli('sync-lightning');
  console.log(`\n$ escrow-agent sync-lightning   (running agent)\n${shown(dry)}`);
  assert.is(dry.code, 1, shown(dry));
  assert.match(
    dry.out,
    `task ${listing.id} (offered): store: open, nothing received; node: ACCEPTED, 20000 sat`,
  );
  assert.match(dry.out, 'would apply: record the payment');
  assert.is(await fixture.snapshot(), before, 'a dry run changes nothing');

  const done = await fixture.cli('sync-lightning', '--execute');
  console.log(`\n$ escrow-agent sync-lightning --execute   (running agent)\n${shown(done)}`);
  assert.is(done.code, 0, shown(done));
  assert.match(done.out, `task ${listing.id}: recorded hold_accepted: offered -> funded`);
  await fixture.waitForState(listing.id, 'funded');
  // The running agent's outbox delivers what the execute recorded on its own time: let it finish, so that the
  // comparison below sees only what a second --execute would change.
  for (let tries = 0; tries < 100; tries++) {
    await fixture.agent!.settle();
    if ((JSON.parse(await fixture.snapshot()) as { pending: unknown[] }).pending.length === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const after = await fixture.snapshot();
  const again = await fixture.cli('sync-lightning', '--execute');
  console.log(`\n$ escrow-agent sync-lightning --execute   (again, running agent)\n${shown(again)}`);
  assert.is(again.code, 0, shown(again));
  assert.match(again.out, 'sync-lightning: store and node agree');
  assert.is(await fixture.snapshot(), after, 'a second --execute changes nothing');
  fixture.gate.muted = false;
});

test('stopped agent: the poster paid while the agent was stopped; sync-lightning records it on the folder', async () => {
  const listing = await fixture.postTask(AMOUNT);
  const offered = await fixture.waitForState(listing.id, 'offered');
  await fixture.stopAgent({ sandbox: false });
  fixture.pay(offered);
  await untilAccepted(paymentHashOf(offered));
  await fixture.stopSandbox();

  const stuck = await fixture.cli('holds', 'stuck');
  console.log(`\n$ escrow-agent holds stuck   (stopped agent)\n${shown(stuck)}`);
  assert.is(stuck.code, 1, shown(stuck));
  assert.match(stuck.out, `task ${listing.id}: offered for`);

  const before = await fixture.snapshot();
  const dry = await fixture.cli('sync-lightning');
  console.log(`\n$ escrow-agent sync-lightning   (stopped agent)\n${shown(dry)}`);
  assert.is(dry.code, 1, shown(dry));
  assert.is(await fixture.snapshot(), before, 'a dry run changes nothing');

  const done = await fixture.cli('sync-lightning', '--execute');
  console.log(`\n$ escrow-agent sync-lightning --execute   (stopped agent)\n${shown(done)}`);
  assert.is(done.code, 0, shown(done));
  assert.is(await fixture.taskState(listing.id), 'funded');

  const after = await fixture.snapshot();
  const again = await fixture.cli('sync-lightning', '--execute');
  console.log(`\n$ escrow-agent sync-lightning --execute   (again, stopped agent)\n${shown(again)}`);
  assert.is(again.code, 0, shown(again));
  assert.match(again.out, 'store and node agree');
  assert.is(await fixture.snapshot(), after, 'a second --execute changes nothing');

  // The agent's next start publishes the funded transition the command recorded.
  await fixture.startAgent();
  await fixture.waitForState(listing.id, 'funded');
});

test('stopped agent: killed right after the node paid the worker; sync-lightning records the payout', async () => {
  await fixture.stopAgent({ sandbox: false });
  const { crashed } = await fixture.startAgent({ crash: { method: 'pay', when: 'after' } });
  const { listing } = await fixture.fundTask(AMOUNT);
  const invoice = await fixture.submitWork(listing.id, AMOUNT);
  await fixture.act(fixture.poster, 'approve', listing.id);
  await crashed;
  await fixture.stopAgent();
  const rows = await fixture.read((store) => store.read((reader) => reader.payouts.forTask(listing.id)));
  assert.equal(
    rows.map((row) => row.state),
    ['in_flight'],
  );

  const before = await fixture.snapshot();
  const dry = await fixture.cli('sync-lightning');
  console.log(`\n$ escrow-agent sync-lightning   (stopped agent, payout made)\n${shown(dry)}`);
  assert.is(dry.code, 1, shown(dry));
  assert.match(
    dry.out,
    `payout to the worker, 19800 sat, payment hash ${invoice.paymentHash}: store: in flight; node: succeeded`,
  );
  assert.is(await fixture.snapshot(), before, 'a dry run changes nothing');

  const done = await fixture.cli('sync-lightning', '--execute');
  console.log(`\n$ escrow-agent sync-lightning --execute   (stopped agent, payout made)\n${shown(done)}`);
  assert.is(done.code, 0, shown(done));
  assert.match(done.out, `task ${listing.id}: recorded payout_succeeded: settled -> paid`);
  const after = await fixture.snapshot();
  const again = await fixture.cli('sync-lightning', '--execute');
  assert.is(again.code, 0, shown(again));
  assert.is(await fixture.snapshot(), after, 'a second --execute changes nothing');
  const paid = await fixture.read((store) => store.read((reader) => reader.payouts.forTask(listing.id)));
  assert.equal(
    paid.map((row) => [row.state, row.paymentHash]),
    [['succeeded', invoice.paymentHash]],
    'paid once',
  );
});

test.run();
