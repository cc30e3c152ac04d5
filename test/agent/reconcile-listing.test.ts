// The reconciler and the guardian at scale (issue #15): a round over many open offers asks the node by listing
// its OPEN and ACCEPTED holds (two calls), not once per task; a hold missing from the listings (cancelled by the
// node) is still looked up on its own; a payment whose node event was lost is found by the listing. And the
// effect runner's lanes: a task whose money is moving is advanced before a queue of new offers.
//
// Real parts: the agent of test/fakes/agent-harness.ts (embedded relay, SQLite file, the LDK sandbox), restarted on
// the sandbox's agent node wrapped only to count the calls the agent makes on it and, in one case, to drop its
// events (the port allows an event never to arrive). Tasks are posted as listings on the relay.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { HoldInvoiceBackend } from '../../src/ldk/port.ts';
import { type Harness, startHarness, tagValue } from '../fakes/agent-harness.ts';
import { eventually } from '../fakes/ldk-wait.ts';

let harness: Harness;
/** Offered tasks so far: listing id, payment hash, bolt11. */
const offered: Array<{ id: string; paymentHash: string; bolt11: string }> = [];

test.before(async () => {
  harness = await startHarness();
});

test.after(async () => {
  await harness?.stop();
});

/** The real node, recording each call the agent makes (`name` or `name:hash`); `dropEvents` withholds its events. */
function counting(node: HoldInvoiceBackend, dropEvents = false) {
  const calls: string[] = [];
  const proxy = new Proxy(node, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (name === 'subscribe') return dropEvents ? () => () => {} : (value as () => unknown).bind(target);
      return (...args: unknown[]) => {
        calls.push(typeof args[0] === 'string' ? `${String(name)}:${args[0]}` : String(name));
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
  const count = (name: string) => calls.filter((call) => call === name || call.startsWith(`${name}:`)).length;
  return { node: proxy, calls, count };
}

async function offerTasks(count: number) {
  const listings = await Promise.all(
    Array.from({ length: count }, (_, index) =>
      harness.postTask({
        amountMsat: 20_000_000n + BigInt(offered.length + index),
        title: `listing ${index}`,
      }),
    ),
  );
  for (const listing of listings) {
    const event = await harness.waitForState(listing.id, 'offered');
    const funding = (await harness.store.read((reader) => reader.tasks.get(listing.id)))?.funding;
    offered.push({ id: listing.id, paymentHash: funding!.paymentHash, bolt11: tagValue(event, 'bolt11')! });
  }
}

/** Restarts the agent on the counted node with no periodic round (runAgent runs one round before it resolves). */
async function restartCounted(dropEvents = false) {
  const counted = counting(harness.sandbox.agent, dropEvents);
  await harness.restartAgent({ lightning: counted.node, reconcileIntervalMs: 3_600_000 });
  return counted;
}

test('below 20 tasks to ask the node about, a round looks each one up instead of listing', async () => {
  await offerTasks(5);
  const counted = await restartCounted();
  assert.is(counted.count('list'), 0, counted.calls.join(','));
  assert.is(counted.count('lookup'), 5);
});

test('a round over 30 open offers lists the node’s holds twice and looks up none; a lost payment is found', async () => {
  await offerTasks(25);
  const counted = await restartCounted(true);
  assert.is(counted.count('list'), 2, `listed OPEN and ACCEPTED once each: ${counted.calls.join(',')}`);
  assert.is(
    counted.count('lookup'),
    0,
    `no look-up per task: ${counted.calls.map((c) => c.slice(0, 14)).join(',')}`,
  );
  // Nothing has changed since: the next round lists again and advances none of the 30.
  counted.calls.length = 0;
  assert.equal(await harness.agent.effects.reconcileAll(), { tasks: 30, woken: 0 });
  assert.equal(counted.calls.sort(), ['list:ACCEPTED', 'list:OPEN']);

  // A payment the node accepted while the agent heard nothing of it (its event withheld).
  const paid = offered[7]!;
  void harness.sandbox.payer
    .pay({ bolt11: paid.bolt11, maxFeeMsat: 10_000n, timeoutSeconds: 60 })
    .catch(() => {});
  await eventually(
    'the node holds the payment',
    async () => (await harness.sandbox.agent.lookup(paid.paymentHash))?.state === 'ACCEPTED',
  );
  counted.calls.length = 0;
  assert.equal(await harness.agent.effects.reconcileAll(), { tasks: 30, woken: 1 }, 'only the paid task');
  assert.is(counted.count('list'), 2);
  // The task's own wake after its `funded` commit asks the node again; no other task is looked up.
  assert.equal(
    counted.calls.filter((call) => call.startsWith('lookup:') && call !== `lookup:${paid.paymentHash}`),
    [],
    'the accepted hold came from the listing',
  );
  const task = await harness.store.read((reader) => reader.tasks.get(paid.id));
  assert.is(task?.state, 'funded', 'the task is funded from the listing alone');

  // A hold the node cancelled by itself is in neither listing: that one task is looked up.
  const cancelled = offered[3]!;
  await harness.sandbox.agent.cancel(cancelled.paymentHash);
  counted.calls.length = 0;
  assert.equal(
    await harness.agent.effects.reconcileAll(),
    { tasks: 30, woken: 1 },
    'only the cancelled hold',
  );
  assert.is(counted.count('list'), 2);
  assert.equal(
    counted.calls.filter((call) => call.startsWith('lookup:')),
    [`lookup:${cancelled.paymentHash}`],
    'only the missing hold is looked up',
  );
  const funding = await harness.store.read((reader) => reader.fundings.get(cancelled.paymentHash));
  assert.is(funding?.state, 'cancelled', 'the node’s cancel is recorded');
  const after = await harness.store.read((reader) => reader.tasks.get(cancelled.id));
  assert.ok(after && after.state !== 'offered', `the task left offered (${after?.state})`);
});

test('a task whose money is held is looked at before 20 tasks woken earlier in the offer lane', async () => {
  const counted = await restartCounted();
  const funded = offered[7]!;
  const others = offered.filter((task) => task !== funded && task !== offered[3]).slice(0, 20);
  counted.calls.length = 0;
  for (const task of others) harness.agent.effects.wake(task.id, 'offer');
  harness.agent.effects.wake(funded.id, 'money');
  await harness.agent.effects.idle();
  const lookups = counted.calls.filter((call) => call.startsWith('lookup:'));
  assert.is(lookups.length, 21, counted.calls.join(','));
  const position = lookups.indexOf(`lookup:${funded.paymentHash}`);
  assert.ok(
    position >= 0 && position < 4,
    `the held task was among the first looked at (4 run at once), not after the 20: at ${position}`,
  );
});

test('a round advances every task whose deadline is due, though its hold is listed as it was', async () => {
  const before = await harness.agent.effects.reconcileAll();
  assert.is(before.woken, 0, 'nothing due yet');
  // Past every window: the offers expire and the funded task's claim window is over.
  harness.advanceClock(30 * 24 * 3600);
  const round = await harness.agent.effects.reconcileAll();
  assert.is(round.woken, round.tasks, JSON.stringify(round));
  for (const task of offered.filter((task) => task !== offered[3])) {
    const after = await harness.store.read((reader) => reader.tasks.get(task.id));
    assert.ok(after && !['offered', 'funded'].includes(after.state), `${task.id} moved on (${after?.state})`);
  }
});

test.run();
