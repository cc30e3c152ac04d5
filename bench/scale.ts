// Scale of the store (issue #15, `scale.tasks100k`): the agent on a SQLite store holding 100,000 tasks (90,000
// paid, 10,000 open offers whose hold invoices are OPEN on the real LDK sandbox node), against the same agent on
// an empty store: start-up time of runAgent (it walks the first slice of the audit chains and runs one reconcile
// round before it resolves), the process's RSS and heap after start, one reconciler round (effects.reconcileAll)
// timed, with the calls it made on the Lightning port counted (a wrapper that counts and forwards to the real
// node) and the tasks it advanced, and one whole audit walk timed.
//
// The rows are written through the store API (test/fakes/store-fixtures.ts's stories, the same transactions the
// agent commits) into a file on /dev/shm, where an fsync costs nothing, then the closed database is copied to an
// ordinary temp folder and opened there. Nothing here is asserted.
//
//   npx tsx bench/scale.ts [--tasks N]   (default 100 000; prints the figures)
//   npm run bench                         (section "scale"; 10 000 with --quick)
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identityFrom } from '../src/agent/identity.ts';
import { runAgent } from '../src/agent/run-agent.ts';
import { requiredFinalCltv } from '../src/domain/deadlines.ts';
import { openStore } from '../src/store/index.ts';
import { harnessPolicy, person, startHarness } from '../test/fakes/agent-harness.ts';
import { PREIMAGE_KEY, taskStory, writeStory } from '../test/fakes/store-fixtures.ts';
import { traceLightning } from './agent.ts';

type Harness = Awaited<ReturnType<typeof startHarness>>;

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

/** Writes `total` tasks: one in ten an open offer (its hold created on the node), the others paid. */
async function generate(harness: Harness, path: string, total: number) {
  const store = await openStore({ url: `sqlite:${path}`, preimageKey: PREIMAGE_KEY });
  const node = harness.sandbox.agent;
  const finalCltvDelta = requiredFinalCltv(harnessPolicy().windows, harnessPolicy());
  let open = 0;
  const started = performance.now();
  try {
    for (let index = 0; index < total; index++) {
      const story = taskStory(`scale-${index}`);
      if (index % 10 === 9) {
        await node.createHoldInvoice({
          paymentHash: story.funding.paymentHash,
          amountMsat: story.amountMsat,
          description: `escrow bench: scale ${index}`,
          expirySeconds: 24 * 3600,
          finalCltvDelta,
        });
        await writeStory(store, story, 'offered');
        open++;
      } else {
        await writeStory(store, story, 'paid');
      }
    }
  } finally {
    await store.close();
  }
  return { open, finished: total - open, seconds: Math.round((performance.now() - started) / 100) / 10 };
}

/** Starts an agent on the database at `path`, times its start and one reconciler round, counting node calls. */
async function measure(harness: Harness, path: string) {
  const store = await openStore({ url: `sqlite:${path}`, preimageKey: PREIMAGE_KEY });
  const counts = new Map<string, number>();
  const before = process.memoryUsage();
  const started = performance.now();
  const agent = await runAgent({
    store,
    lightning: traceLightning(harness.sandbox.agent, null, counts),
    identity: identityFrom(person().secretKey),
    policy: harnessPolicy(),
    relays: [{ url: harness.relay.url, read: true, write: true }],
    reconcileIntervalMs: 3_600_000,
    readBack: false,
  });
  const startMs = Math.round(performance.now() - started);
  const startNodeCalls = Object.fromEntries(counts);
  const after = process.memoryUsage();
  counts.clear();
  const roundStarted = performance.now();
  const round = await agent.effects.reconcileAll();
  const roundMs = Math.round(performance.now() - roundStarted);
  const roundNodeCalls = Object.fromEntries(counts);
  // The whole audit walk (start-up waits only for its first slice; the rest runs in the background).
  await agent.auditWatch.check();
  const walkStarted = performance.now();
  const walk = await agent.auditWatch.check();
  const auditWalkMs = Math.round(performance.now() - walkStarted);
  const tasks = await store.read((reader) => reader.stats.snapshot());
  await agent.stop();
  await store.close();
  return {
    tasksByState: tasks.tasksByState,
    startMs,
    startNodeCalls,
    rssMb: mb(after.rss),
    rssGrowthMb: mb(after.rss - before.rss),
    heapUsedMb: mb(after.heapUsed),
    reconcileRoundMs: roundMs,
    reconcileRoundNodeCalls: roundNodeCalls,
    reconcileRoundTasks: round,
    auditWalk: { ms: auditWalkMs, tasks: walk.tasksChecked, rows: walk.rowsChecked, ok: walk.ok },
  };
}

export async function benchScale(options: { tasks: number }) {
  const folder = mkdtempSync(join(tmpdir(), 'escrow-bench-scale-'));
  const shm = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/escrow-bench-scale-') : folder;
  const harness = await startHarness();
  try {
    await harness.stopAgent();
    const empty = await measure(harness, join(folder, 'empty.db'));
    const generated = await generate(harness, join(shm, 'full.db'), options.tasks);
    copyFileSync(join(shm, 'full.db'), join(folder, 'full.db'));
    const full = await measure(harness, join(folder, 'full.db'));
    const calls = (figures: typeof full) =>
      Object.values(figures.reconcileRoundNodeCalls).reduce((sum, count) => sum + count, 0);
    return {
      tasks: options.tasks,
      generated,
      empty,
      full,
      note: `one process (the relay and the three LDK nodes run in it too): rssMb is the process's, rssGrowthMb what runAgent's start added. A reconciler round asks the node ${calls(full)} times for ${generated.open} open tasks (${(calls(full) / Math.max(1, generated.open)).toFixed(2)} per task: the holds are listed once per round, OPEN and ACCEPTED, src/agent/jobs/hold-snapshot.ts) and advances ${full.reconcileRoundTasks.woken} of them (only those the listing or a due deadline calls for). Start-up waits for the audit walk's first slice of 500 tasks; the whole walk (auditWalk, in slices that yield to the event loop) runs in the background at start and every 10 minutes`,
    };
  } finally {
    await harness.stop();
    rmSync(folder, { recursive: true, force: true });
    if (shm !== folder) rmSync(shm, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf('--tasks');
  const tasks = at > 0 ? Number(process.argv[at + 1]) : 100_000;
  console.log(JSON.stringify(await benchScale({ tasks }), null, 2));
  process.exit(0);
}
