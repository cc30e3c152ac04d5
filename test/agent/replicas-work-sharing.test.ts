// Replicas sharing the work on one PostgreSQL database (issue #16): three agents on the same database, node, key
// and relay. Each approval reaches all three at once (the relay sends it to every subscription); every task gets
// one transition per state and one payout, and the worker's node receives exactly what is owed. A replica that dies
// holding a task's lease leaves the task alone until the lease runs out; another replica then finishes the intent,
// once.
//
// Real parts: the embedded relay, the LDK sandbox, a throwaway PostgreSQL database, three runAgent instances on it.
// The dead replica is its row in the leases table (a holder that never releases), which is all a SIGKILLed replica
// leaves behind; the torture harness (npm run torture) kills real replica processes.
import pino from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Harness, startHarness } from '../fakes/agent-harness.ts';
import { eventually } from '../fakes/ldk-wait.ts';
import { postgresDatabases } from '../fakes/store-databases.ts';

const databases = postgresDatabases();
const TASKS = Number(process.env.REPLICA_RACE_TASKS ?? 100);
let harness: Harness;

test.before(async () => {
  const database = await databases.create();
  harness = await startHarness({
    databaseUrl: database.url,
    agent: { verifyThreads: 0, ...(process.env.DEBUG_LOG ? { log: pino({ level: 'warn' }) } : {}) },
  });
  await harness.startReplica();
  await harness.startReplica();
});

test.after(async () => {
  await harness?.stop();
  await databases.dispose();
});

const labels = (events: Array<{ tags: string[][] }>) =>
  events.map((event) => event.tags.find((tag) => tag[0] === 'l')?.[1] ?? '?');

async function submittedTasks(count: number, amount: (index: number) => bigint): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, count - start) }, async (_, offset) => {
        const value = amount(start + offset);
        const { listing } = await harness.fundTask(value);
        await harness.submitWork(listing.id, value);
        return listing.id;
      }),
    );
    ids.push(...batch);
  }
  return ids;
}

test(`three replicas, ${TASKS} approvals each delivered to all at once: one transition per state, one payout each`, async () => {
  const amount = (index: number) => 10_000_000n + BigInt(index) * 1000n;
  const ids = await submittedTasks(TASKS, amount);
  const owed = ids.reduce((sum, _, index) => sum + amount(index) - harness.feeFor(amount(index)), 0n);
  const before = (await harness.sandbox.worker.getInfo()).remoteBalanceMsat;
  await Promise.all(ids.map((id) => harness.act(harness.poster, 'approve', id)));
  for (const id of ids) await harness.waitForState(id, 'paid', 120_000);
  await harness.agent.settle();

  const received = before - (await harness.sandbox.worker.getInfo()).remoteBalanceMsat;
  assert.is(received, owed, 'the worker node received exactly what the tasks owe, once');
  for (const id of ids) {
    const chain = labels(await harness.agentEvents(id)).sort();
    assert.equal(chain, ['claimed', 'funded', 'offered', 'paid', 'settled', 'settling', 'submitted'], id);
    const payouts = await harness.store.read((reader) => reader.payouts.forTask(id));
    assert.is(payouts.length, 1, `one payout for ${id}`);
    assert.is(payouts[0]?.state, 'succeeded');
  }
});

test('a replica that died holding a task’s lease: nobody acts until it runs out, then the intent is finished once', async () => {
  const value = 12_345_000n;
  const [id] = await submittedTasks(1, () => value);
  const taskId = id!;
  // What a replica SIGKILLed while holding the task leaves: its lease row, valid for a few more seconds.
  const fence = await harness.store.transaction((tx) =>
    tx.leases.acquire(`task:${taskId}`, 'dead-replica', 4),
  );
  assert.ok(fence !== null, 'the dead replica held the lease');
  const before = (await harness.sandbox.worker.getInfo()).remoteBalanceMsat;
  await harness.act(harness.poster, 'approve', taskId);
  await harness.waitForState(taskId, 'settling');
  // While the lease is held, the live replicas' rounds (every 300 ms) leave the task alone.
  for (let round = 0; round < 10; round++) {
    const held = await harness.store.read((reader) =>
      reader.leases.holds(`task:${taskId}`, 'dead-replica', fence!),
    );
    const task = await harness.store.read((reader) => reader.tasks.get(taskId));
    if (!held) break;
    assert.is(task?.state, 'settling', 'no replica settled under another replica’s lease');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await harness.waitForState(taskId, 'paid', 60_000);
  await harness.agent.settle();
  const received = before - (await harness.sandbox.worker.getInfo()).remoteBalanceMsat;
  assert.is(received, value - harness.feeFor(value), 'paid once');
  assert.equal(labels(await harness.agentEvents(taskId)).sort(), [
    'claimed',
    'funded',
    'offered',
    'paid',
    'settled',
    'settling',
    'submitted',
  ]);
  await eventually('the lease is free again', async () =>
    harness.store.transaction(async (tx) => (await tx.leases.acquire(`task:${taskId}`, 'probe', 1)) !== null),
  );
});

test.run();
