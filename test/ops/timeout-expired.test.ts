// `timeout-expired` on real tasks past their windows (the running agent's reconcile round has not come yet) and on
// a refund whose intent was committed when the agent was killed before the cancel: a dry run lists what the tick
// would do (exit 1) and changes nothing, --execute hands them to the engine (the poster's HTLC given back at the
// node; review silence settles and pays the worker), a second --execute finds nothing to do and changes nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OpsFixture, shown } from './ops-fixture.ts';

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

test('running agent: a claim window and a review window over; timeout-expired refunds one, pays the other', async () => {
  const unclaimed = await fixture.fundTask(AMOUNT, { claim: 600 });
  const reviewed = await fixture.fundTask(AMOUNT, { review: 600 });
  const invoice = await fixture.submitWork(reviewed.listing.id, AMOUNT);
  // Ten minutes pass for the agent: past both windows. It ticks them at its next reconcile round (an hour here) or
  // block; nothing else wakes them.
  fixture.advanceClock(601);
  assert.is(await fixture.taskState(unclaimed.listing.id), 'funded');
  assert.is(await fixture.taskState(reviewed.listing.id), 'submitted');

  const before = await fixture.snapshot();
  const dry = await fixture.cli('timeout-expired');
  console.log(`\n$ escrow-agent timeout-expired   (running agent)\n${shown(dry)}`);
  assert.is(dry.code, 1, shown(dry));
  assert.match(dry.out, 'timeout-expired: through the running agent');
  assert.match(
    dry.out,
    `task ${unclaimed.listing.id}: funded, 20000 sat: nobody claimed within the claim window`,
  );
  assert.match(dry.out, `task ${reviewed.listing.id}: submitted, 20000 sat: the poster did not review`);
  assert.is(await fixture.snapshot(), before, 'a dry run changes nothing');

  const done = await fixture.cli('timeout-expired', '--execute');
  console.log(`\n$ escrow-agent timeout-expired --execute   (running agent)\n${shown(done)}`);
  assert.is(done.code, 0, shown(done));
  assert.match(done.out, `task ${unclaimed.listing.id}: funded -> refunded`);
  assert.match(done.out, `task ${reviewed.listing.id}: submitted -> paid`);
  const sandbox = fixture.sandbox!;
  assert.is((await sandbox.agent.lookup(paymentHashOf(unclaimed.offered)))?.state, 'CANCELED');
  assert.is((await unclaimed.payment).status, 'failed', "the payer's HTLC was failed back");
  assert.is((await sandbox.agent.lookup(paymentHashOf(reviewed.offered)))?.state, 'SETTLED');
  assert.is((await sandbox.agent.paymentStatus(invoice.paymentHash))?.status, 'succeeded');
  const task = await fixture.read((store) => store.read((reader) => reader.tasks.get(unclaimed.listing.id)));
  assert.is(task?.reason, 'claim_timeout');

  const after = await fixture.snapshot();
  const again = await fixture.cli('timeout-expired', '--execute');
  console.log(`\n$ escrow-agent timeout-expired --execute   (again, running agent)\n${shown(again)}`);
  assert.is(again.code, 0, shown(again));
  assert.match(again.out, 'timeout-expired: nothing to do');
  assert.is(await fixture.snapshot(), after, 'a second --execute changes nothing');
});

test('stopped agent: killed between the refund intent and the cancel; timeout-expired finishes the refund', async () => {
  await fixture.stopAgent({ sandbox: false });
  const { crashed } = await fixture.startAgent({ crash: { method: 'cancel', when: 'before' } });
  const { listing, offered, payment } = await fixture.fundTask(AMOUNT);
  await fixture.act(fixture.poster, 'cancel', listing.id);
  await crashed;
  await fixture.stopAgent();
  assert.is(await fixture.taskState(listing.id), 'refunding');

  const stuck = await fixture.cli('holds', 'stuck', '--older-than', '0', '--json');
  console.log(`\n$ escrow-agent holds stuck --older-than 0 --json   (stopped agent)\n${shown(stuck)}`);
  assert.is(stuck.code, 1, shown(stuck));
  const report = JSON.parse(stuck.out);
  assert.is(report.mode, 'stopped');
  assert.equal(
    report.result.stuck.map(
      (one: { taskId: string; reason: string; fix: string; node: { state: string } }) => [
        one.taskId,
        one.reason,
        one.fix,
        one.node.state,
      ],
    ),
    [[listing.id, 'cancel_unfinished', 'timeout-expired', 'ACCEPTED']],
  );

  const before = await fixture.snapshot();
  const dry = await fixture.cli('timeout-expired');
  console.log(`\n$ escrow-agent timeout-expired   (stopped agent)\n${shown(dry)}`);
  assert.is(dry.code, 1, shown(dry));
  assert.match(
    dry.out,
    `task ${listing.id}: refunding, 20000 sat: the refund intent is committed (reason poster_cancelled)`,
  );
  assert.is(await fixture.snapshot(), before, 'a dry run changes nothing');

  const done = await fixture.cli('timeout-expired', '--execute');
  console.log(`\n$ escrow-agent timeout-expired --execute   (stopped agent)\n${shown(done)}`);
  assert.is(done.code, 0, shown(done));
  assert.match(done.out, `task ${listing.id}: refunding -> refunded`);
  assert.match(done.out, 'node: CANCELED');

  const after = await fixture.snapshot();
  const again = await fixture.cli('timeout-expired', '--execute');
  console.log(`\n$ escrow-agent timeout-expired --execute   (again, stopped agent)\n${shown(again)}`);
  assert.is(again.code, 0, shown(again));
  assert.match(again.out, 'nothing to do');
  assert.is(await fixture.snapshot(), after, 'a second --execute changes nothing');

  const sandbox = await fixture.startSandbox();
  assert.is((await sandbox.agent.lookup(paymentHashOf(offered)))?.state, 'CANCELED', 'refunded at the node');
  void payment;
  await fixture.startAgent();
  await fixture.waitForState(listing.id, 'refunded');
});

test.run();
