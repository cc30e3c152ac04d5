// Two agent replicas on one PostgreSQL database, the same node, key and relay: every event reaches both, and each
// is handled once (durable dedupe, row locks and compare-and-set); the worker is paid once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Harness, startHarness } from '../fakes/agent-harness.ts';
import { postgresDatabases } from '../fakes/store-databases.ts';

const databases = postgresDatabases();
let harness: Harness;
let replica: Awaited<ReturnType<Harness['startReplica']>>;
const AMOUNT = 30_000_000n;
const FEE = 1000n + (AMOUNT * 10_000n) / 1_000_000n;

test.before(async () => {
  const database = await databases.create();
  harness = await startHarness({ databaseUrl: database.url });
  replica = await harness.startReplica();
});

test.after(async () => {
  await harness?.stop();
  await databases.dispose();
});

function labelsOf(events: Array<{ tags: string[][] }>) {
  return events.map((event) => event.tags.find((tag) => tag[0] === 'l')?.[1]);
}

test('with two replicas on PostgreSQL a task goes from posted to paid once, with one chain of transitions', async () => {
  const { sandbox } = harness;
  const canReceiveBefore = (await sandbox.worker.getInfo()).remoteBalanceMsat;
  const { listing, payment } = await harness.fundTask(AMOUNT);
  await harness.submitWork(listing.id, AMOUNT);
  await harness.act(harness.poster, 'approve', listing.id);
  await harness.waitForState(listing.id, 'paid');
  assert.is((await payment).status, 'succeeded');
  await harness.agent.settle();

  const canReceiveAfter = (await sandbox.worker.getInfo()).remoteBalanceMsat;
  assert.is(canReceiveBefore - canReceiveAfter, AMOUNT - FEE, 'paid once');
  const events = await harness.agentEvents(listing.id);
  assert.equal(
    labelsOf(events).sort(),
    ['claimed', 'funded', 'offered', 'paid', 'settled', 'settling', 'submitted'],
    'one transition per state change, none rejected or doubled',
  );
  const fundings = await harness.store.read((reader) =>
    reader.fundings.listByState(['open', 'accepted', 'settled', 'cancelled']),
  );
  const mine = fundings.filter((funding) => funding.taskId === listing.id);
  assert.is(mine.filter((funding) => funding.state === 'settled').length, 1, 'one funding settled');
  for (const [name, agent] of [
    ['first', harness.agent],
    ['replica', replica],
  ] as const) {
    const seen = (await agent.ctx.metrics.inboundEvents.get()).values.reduce(
      (sum, value) => sum + value.value,
      0,
    );
    assert.ok(seen >= 4, `the ${name} agent received all four actions (${seen})`);
  }
  const report = await harness.store.verifyAudit();
  assert.ok(report.ok, JSON.stringify(report.problems));
});

test.run();
