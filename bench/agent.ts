// Agent figures: events per second through the whole intake path (issue #4, #9, #15), and the time from a
// poster's approval reaching the relay to the settlement event and to the worker's payment. Real relay, real LDK
// nodes, SQLite on disk (WAL, synchronous=FULL). Ratios and medians from one run; nothing here is asserted, and each
// goal of issue #15 is printed next to its figure (`goals`).
//
// Both sections run the agent as `escrow-agent start` does, with the LDK sandbox and the relay each on its own
// thread (src/agent/sandbox-thread.ts, src/relay/relay-thread.ts); the latency section also measures both on the
// agent's thread, same run (sandboxInAgentThread). BENCH_RELAY_INLINE=1 runs the relay on the agent's thread in
// both sections (to compare a run with the relay's thread against one without).
//
// The intake section feeds raw JSON text straight into intakeEvent of a running agent, on one agent in this order:
//   1. holdInvoicesPerSecond: the backend alone (the agent's LDK node), createHoldInvoice as the effect runner
//      calls it (4 at a time), before any listing; the holds are cancelled afterwards.
//   2. listingsPerSecond: new listings until each task is `offered` (intake, hold invoice, offer signed, committed).
//   3. actionsPerSecond: distinct valid actions (the poster cancels each offered task), each answered with one
//      signed agent event (`refunding`); the effect runner cancels the holds meanwhile.
//   In 2 and 3, half of the events go one at a time (*OneAtATime: each intake awaited before the next), the other
//   half as the relay pool hands them over in runAgent: pushed at once into an intake queue of the product's
//   concurrency (events about different tasks overlap, and their writes share a COMMIT: transactionsPerCommit).
//   4. duplicatesPerSecond: every one of those events again (dropped by id before any signature check), with the
//      agent's own warm memory; duplicatesFromStorePerSecond with a cold memory (as right after a restart).
//   5. forgedPerSecond: distinct events from many keys with a correct id and another event's signature, the
//      costliest forgery (dropped only by the Schnorr check); forgedIdPerSecond with a wrong id (dropped by the hash).
// Next to the figures: each phase's CPU share (process CPU time / wall time) and what one event's steps cost
// (an fdatasync on this disk, the store's lookup of a new id, strict JSON + shape), which bound the goals not met.
import { randomBytes } from 'node:crypto';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NostrEvent } from 'nostr-tools/pure';
import pino, { type Logger } from 'pino';
import WebSocket from 'ws';
import { createIntakeMemory, intakeEvent, intakeMemoryOf } from '../src/agent/intake.ts';
import { createIntakeQueue } from '../src/agent/intake-queue.ts';
import { createPreverifier } from '../src/agent/preverify.ts';
import { createRateGate } from '../src/agent/rate-gate.ts';
import { INTAKE_CONCURRENCY } from '../src/agent/run-agent.ts';
import { startSandboxThread } from '../src/agent/sandbox-thread.ts';
import { finalizeEvent } from '../src/crypto/schnorr.ts';
import { createVerifyPool } from '../src/crypto/verify-pool.ts';
import { requiredFinalCltv } from '../src/domain/deadlines.ts';
import type { HoldInvoiceBackend } from '../src/ldk/port.ts';
import { callControl } from '../src/ldk/sandbox-control/control-client.ts';
import { CONTROL_SOCKET } from '../src/ldk/sandbox-control/control-server.ts';
import { actionTemplate } from '../src/protocol/build-action.ts';
import { KINDS } from '../src/protocol/constants.ts';
import { parseEvent } from '../src/protocol/schemas.ts';
import { parseStrictJson } from '../src/protocol/strict-json.ts';
import { type EscrowStore, urgentWrites } from '../src/store/index.ts';
import type { SqliteEscrowStore } from '../src/store/sqlite/open-sqlite.ts';
import { harnessPolicy, startHarness } from '../test/fakes/agent-harness.ts';
import { connectNostrTools } from '../test/fakes/relay.ts';
import { maybeProfiled, type ProfileSummary } from './profile.ts';
import { summarise } from './stats.ts';

export interface Bounds {
  verifyPerSecond?: number;
  verifySignPerSecond?: number;
}

export async function benchAgent(options: { lifecycles: number; burst?: number }) {
  // As `escrow-agent start` runs it: the sandbox's three LDK nodes on their own thread (src/agent/sandbox-thread.ts),
  // the payer and the worker reached through its control socket.
  const approvalToPayment = await withSandboxThread((extra) =>
    withHarness((harness) => benchApprovalToPayment(harness, options.lifecycles), extra),
  );
  // The same with the sandbox and the relay in the agent's own thread (as the tests run them), same run: what the
  // threads change.
  const inAgentThread = await withHarness((harness) => benchApprovalToPayment(harness, options.lifecycles), {
    agent: { reconcileIntervalMs: undefined, outboxIntervalMs: undefined },
  });
  // The same path again on an agent whose store, Lightning node and log are watched (tracing.ts): one approval's
  // steps with their times. The watchers only record and forward, so the figures of this run are comparable.
  const traced = await withSandboxThread((extra) =>
    withHarness(async (harness) => {
      const trace = createTrace();
      const oldStore = harness.store;
      const node = harness.agent.ctx.lightning;
      await harness.stopAgent();
      await harness.startAgent({
        store: traceStore(oldStore, trace),
        lightning: traceLightning(node, trace),
        log: traceLogger(trace),
      });
      try {
        return await benchApprovalToPayment(harness, Math.max(3, Math.min(options.lifecycles, 10)), trace);
      } finally {
        await harness.stopAgent();
        await oldStore.close();
      }
    }, extra),
  );
  const { oneApproval, ...tracedFigures } = traced;
  // The same approvals while a burst of new listings is on the relay (issue #15: p95 <= 2 x idle).
  const duringListingBurst = await withSandboxThread((extra) =>
    withHarness(
      (harness) => benchDuringListingBurst(harness, options.lifecycles, options.burst ?? 1000),
      extra,
    ),
  );
  const idleSettledP95 = approvalToPayment.approvalToSettlementEventMs.p95;
  const idlePaidP95 = approvalToPayment.approvalToWorkerPaidEventMs.p95;
  return {
    approvalToPayment,
    latency: {
      approvalToSettledMs: approvalToPayment.approvalToSettlementEventMs,
      approvalToPaidMs: approvalToPayment.approvalToWorkerPaidEventMs,
      sandboxInAgentThread: {
        approvalToSettledMs: inAgentThread.approvalToSettlementEventMs,
        approvalToPaidMs: inAgentThread.approvalToWorkerPaidEventMs,
      },
      duringListingBurst,
      goals: {
        approvalToSettledMs: goalBelow(approvalToPayment.approvalToSettlementEventMs.p95, 50, 'p95 <= 50 ms'),
        approvalToPaidMs: goalBelow(approvalToPayment.approvalToWorkerPaidEventMs.p95, 200, 'p95 <= 200 ms'),
        duringListingBurstSettledMs: goalBelow(
          duringListingBurst.approvalToSettledMs.p95,
          2 * (idleSettledP95 ?? 0),
          `p95 <= 2 x idle p95 (${idleSettledP95} ms)`,
        ),
        duringListingBurstPaidMs: goalBelow(
          duringListingBurst.approvalToPaidMs.p95,
          2 * (idlePaidP95 ?? 0),
          `p95 <= 2 x idle p95 (${idlePaidP95} ms)`,
        ),
      },
      note: 'the sandbox and the relay each on its own thread, as escrow-agent start runs them; sandboxInAgentThread: the same with both on the agent thread (as the tests run them), same run',
    },
    traced: tracedFigures,
    oneApproval,
  };
}

type HarnessOptions = NonNullable<Parameters<typeof startHarness>[0]>;

/**
 * A sandbox on its own thread (as connectLightning starts it) for the agent, with the harness's payer and worker
 * being that sandbox's nodes, reached through its control socket (as `escrow-agent ln pay` / `ln invoice` do); the
 * harness's relay on its own thread too, as `escrow-agent start` runs its embedded relay (src/relay/relay-thread.ts).
 */
async function withSandboxThread<T>(run: (options: HarnessOptions) => Promise<T>): Promise<T> {
  const folder = mkdtempSync(join(tmpdir(), 'escrow-bench-thread-'));
  const thread = await startSandboxThread(
    { folder, blockIntervalMs: 30_000, walletRelays: [] },
    pino({ level: 'warn' }),
  );
  const socket = join(folder, CONTROL_SOCKET);
  const wallets: HarnessOptions['wallets'] = {
    payer: {
      pay: async (request) =>
        (await callControl(socket, 'POST', '/pay', {
          node: 'payer',
          bolt11: request.bolt11,
          maxFeeMsat: String(request.maxFeeMsat),
          timeoutSeconds: request.timeoutSeconds,
        })) as never,
    },
    worker: {
      createInvoice: async (request) =>
        (await callControl(socket, 'POST', '/invoice', {
          node: 'worker',
          amountMsat: String(request.amountMsat),
          description: request.description,
          expirySeconds: request.expirySeconds,
        })) as never,
    },
  };
  try {
    // The product's own round and outbox intervals (15 s, 1 s), not the harness's quick test ones (300, 100 ms):
    // a round every 300 ms over a thousand open offers is a load no agent runs under.
    return await run({
      agent: { lightning: thread.backend, reconcileIntervalMs: undefined, outboxIntervalMs: undefined },
      wallets,
      relayThreads: process.env.BENCH_RELAY_INLINE !== '1',
    });
  } finally {
    await thread.close();
    rmSync(folder, { recursive: true, force: true });
  }
}

function goalBelow(figure: number | undefined, atMost: number, text: string) {
  if (figure === undefined) return `no figure (goal ${text})`;
  return `${figure} (goal ${text}: ${figure <= atMost ? 'met' : 'NOT met'})`;
}

async function withHarness<T>(run: (harness: Harness) => Promise<T>, options?: HarnessOptions): Promise<T> {
  const harness = await startHarness(options);
  try {
    return await run(harness);
  } finally {
    await harness.stop();
  }
}

type Harness = Awaited<ReturnType<typeof startHarness>>;

const rate = (count: number, startedAt: number) =>
  Math.round(count / ((performance.now() - startedAt) / 1000));

/** `figure` against its goal, as the bench prints it. */
function goal(figure: number, atLeast: number | undefined, text: string) {
  if (atLeast === undefined || !Number.isFinite(atLeast))
    return `${figure} (goal ${text}: no bound this run)`;
  return `${figure} (goal ${text} = ${Math.round(atLeast)}: ${figure >= atLeast ? 'met' : 'NOT met'})`;
}

export async function benchIntake(options: {
  events: number;
  duplicates?: number;
  forged?: number;
  bounds?: Bounds;
}) {
  // As `escrow-agent start` runs the agent: the sandbox on its own thread (withSandboxThread).
  return withSandboxThread((extra) =>
    withHarness(async (harness) => {
      const ctx = harness.agent.ctx;
      const gate = createRateGate({ perMinute: 1_000_000, burst: 1_000_000 });
      const feed = async (
        raws: string[],
        expect: (outcome: Awaited<ReturnType<typeof intakeEvent>>) => boolean,
      ) => {
        const started = performance.now();
        for (const raw of raws) {
          const outcome = await intakeEvent(ctx, gate, raw, 'bench');
          if (!expect(outcome))
            throw new Error(`bench: unexpected intake outcome ${JSON.stringify(outcome)}`);
        }
        return rate(raws.length, started);
      };
      // As the relay pool hands events over in runAgent: pushed at once into an intake queue of the product's
      // concurrency, the waiting ones' signatures checked ahead on the agent's worker threads.
      const ahead = intakeMemoryOf(ctx).ahead;
      const feedQueue = async (
        raws: string[],
        expect: (outcome: Awaited<ReturnType<typeof intakeEvent>>) => boolean,
      ) => {
        let wrong = 0;
        // An action's writes urgent, as runAgent marks them.
        const queue = createIntakeQueue(
          async (event, relay, lane) => {
            const intake = () => intakeEvent(ctx, gate, event, relay);
            if (!expect(await (lane === 'action' ? urgentWrites(intake) : intake()))) wrong += 1;
          },
          {
            concurrency: INTAKE_CONCURRENCY,
            ...(ahead ? { ahead: ({ id, pubkey, sig }) => ahead.ahead(id, pubkey, sig) } : {}),
          },
        );
        const started = performance.now();
        await Promise.all(raws.map((raw) => queue.push(raw, 'bench')));
        const perSecond = rate(raws.length, started);
        if (wrong > 0) throw new Error(`bench: ${wrong} events had an unexpected intake outcome`);
        return perSecond;
      };
      /** Write transactions per COMMIT while `run` ran (group commit on SQLite). */
      const groupStats = () => (harness.store as Partial<SqliteEscrowStore>).groupStats?.();
      const perCommit: Record<string, number> = {};
      const countingCommits = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
        const before = groupStats();
        const result = await run();
        const after = groupStats();
        if (before && after && after.commits > before.commits)
          perCommit[name] =
            Math.round(
              ((after.transactions - before.transactions) / (after.commits - before.commits)) * 100,
            ) / 100;
        return result;
      };
      const count = options.events;
      // The process's CPU time over each phase's wall time (the relay and the LDK nodes run in this process too):
      // near 1, the phase computes; well below, it waits (fsync, the node, the relay).
      const cpuShare: Record<string, number> = {};
      const profiles: Record<string, ProfileSummary> = {};
      const measured = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
        const cpu = process.cpuUsage();
        const started = performance.now();
        const { result, profile } = await maybeProfiled(`intake-${name}`, run);
        if (profile) profiles[name] = profile;
        const used = process.cpuUsage(cpu);
        cpuShare[name] =
          Math.round(((used.user + used.system) / 1000 / (performance.now() - started)) * 100) / 100;
        return result;
      };

      // 1. The backend alone.
      const holdInvoicesPerSecond = await measured('holdInvoices', () => benchHoldInvoices(harness, count));

      // 2. New listings, until every task is offered.
      const posters = Array.from({ length: 16 }, () => randomBytes(32));
      const now = () => Math.floor(Date.now() / 1000);
      const listings = Array.from({ length: count }, (_, index) =>
        finalizeEvent(
          {
            kind: KINDS.listing,
            created_at: now(),
            tags: [
              ['d', `bench-${index}`],
              ['title', `Bench task ${index}`],
              ['amount', '21000000'],
              ['p', harness.agentKey.pubkey],
              ['t', 'escrow'],
            ],
            content: 'bench',
          },
          posters[index % posters.length]!,
        ),
      );
      // The first half one at a time (each intake awaited before the next), the second half as the relay pool
      // hands them over (feedQueue); each half until all its tasks are offered.
      const half = Math.floor(count / 2);
      const isHandled = (outcome: { status: string }) => outcome.status === 'handled';
      const listingsAlone = listings.slice(0, half).map((event) => JSON.stringify(event));
      const listingsQueued = listings.slice(half).map((event) => JSON.stringify(event));
      const aloneStarted = performance.now();
      const intakeOneAtATimePerSecond = await measured('listingsOneAtATime', async () => {
        const perSecond = await feed(listingsAlone, isHandled);
        await waitUntilNone(harness, 'posted');
        return perSecond;
      });
      const listingsOneAtATimePerSecond = rate(half, aloneStarted);
      await harness.agent.settle();
      const listingsStarted = performance.now();
      const intakeOnlyPerSecond = await countingCommits('listings', () =>
        measured('listings', async () => {
          const perSecond = await feedQueue(listingsQueued, isHandled);
          await waitUntilNone(harness, 'posted');
          return perSecond;
        }),
      );
      const listingsPerSecond = rate(count - half, listingsStarted);
      await harness.agent.settle();

      // 3. Valid actions, one signed agent event each.
      const cancels = listings.map((listing, index) =>
        finalizeEvent(
          actionTemplate({
            name: 'cancel',
            taskId: listing.id,
            agent: harness.agentKey.pubkey,
            createdAt: now(),
            extraTags: [],
            content: '',
          }),
          posters[index % posters.length]!,
        ),
      );
      const cancelRaws = cancels.map((event) => JSON.stringify(event));
      const actionsOneAtATimePerSecond = await countingCommits('actionsOneAtATime', () =>
        measured('actionsOneAtATime', () => feed(cancelRaws.slice(0, half), isHandled)),
      );
      await harness.agent.settle();
      const actionsPerSecond = await countingCommits('actions', () =>
        measured('actions', () => feedQueue(cancelRaws.slice(half), isHandled)),
      );
      await harness.agent.settle();

      // 4. The same events again.
      const handled = [...listings, ...cancels].map((event) => JSON.stringify(event));
      const copies = Array.from(
        { length: options.duplicates ?? 5000 },
        (_, index) => handled[index % handled.length]!,
      );
      const isDuplicate = (outcome: { status: string; code?: string }) =>
        outcome.status === 'dropped' && outcome.code === 'AlreadySeen';
      const duplicatesPerSecond = await measured('duplicates', () => feed(copies, isDuplicate));
      const cold = createIntakeMemory({ seenCapacity: 1 });
      const coldStarted = performance.now();
      for (const raw of copies) {
        if (!isDuplicate(await intakeEvent(ctx, gate, raw, 'bench', cold)))
          throw new Error('bench: not a duplicate');
      }
      const duplicatesFromStorePerSecond = rate(copies.length, coldStarted);

      // 5. Forgeries from many keys.
      const forgedCount = options.forged ?? count;
      const { badSignature, badId } = forgeries(forgedCount, harness.agentKey.pubkey, listings);
      const forgedPerSecond = await measured('forged', () =>
        feed(badSignature, (outcome) => outcome.status === 'dropped' && outcome.code === 'BadSignature'),
      );
      const forgedIdPerSecond = await feed(
        badId,
        (outcome) => outcome.status === 'dropped' && outcome.code === 'BadId',
      );

      // 5b. The same kind of forgeries (fresh ones) as a relay hands them to the agent: pushed at once into the
      // intake queue, one intake at a time, with the waiting ones' signatures checked ahead on worker threads.
      const throughQueue: Record<string, number> = {};
      for (const threads of [0, 1, 2]) {
        const fresh = forgeries(forgedCount, harness.agentKey.pubkey, listings).badSignature;
        throughQueue[`workers${threads}`] = await forgedThroughQueue(ctx, gate, fresh, threads);
      }

      // What the per-event costs are made of (for the goals not met): one fdatasync on this disk (a committed
      // transaction under synchronous=FULL waits for at least one), the store's duplicate lookup of a new id, and
      // strict JSON + shape (zod) of a forged event.
      const costs = {
        fdatasyncMs: fdatasyncMs(),
        storeLookupMicroseconds: await storeLookupMicroseconds(harness, badSignature.length),
        parseMicroseconds: parseMicroseconds(badSignature),
      };

      const bounds = options.bounds ?? {};
      return {
        events: count,
        holdInvoicesPerSecond,
        intakeConcurrency: INTAKE_CONCURRENCY,
        listingsPerSecond,
        listingsIntakeOnlyPerSecond: intakeOnlyPerSecond,
        listingsOneAtATimePerSecond,
        listingsIntakeOnlyOneAtATimePerSecond: intakeOneAtATimePerSecond,
        actionsPerSecond,
        actionsOneAtATimePerSecond,
        transactionsPerCommit: perCommit,
        duplicatesPerSecond,
        duplicatesFromStorePerSecond,
        forgedPerSecond,
        forgedIdPerSecond,
        forgedThroughQueuePerSecond: throughQueue,
        cpuShare,
        ...(Object.keys(profiles).length > 0 ? { profiles } : {}),
        costs,
        goals: {
          duplicatesPerSecond: goal(duplicatesPerSecond, 50_000, '>= 50,000'),
          forgedPerSecond: goal(
            forgedPerSecond,
            bounds.verifyPerSecond === undefined ? undefined : 0.9 * bounds.verifyPerSecond,
            '>= 0.9 x bounds.verifyPerSecond',
          ),
          actionsPerSecond: goal(
            actionsPerSecond,
            bounds.verifySignPerSecond === undefined ? undefined : 0.9 * bounds.verifySignPerSecond,
            '>= 0.9 x bounds.verifySignPerSecond',
          ),
          listingsPerSecond: goal(
            listingsPerSecond,
            0.9 * holdInvoicesPerSecond,
            'the agent adds <= 10 %: >= 0.9 x holdInvoicesPerSecond',
          ),
        },
        note: "raw JSON text fed into intakeEvent of a running agent (SQLite on disk, synchronous=FULL): half of the listings and actions one at a time (*OneAtATime), the other half pushed at once into an intake queue of the product's concurrency, as the relay pool hands them over (listingsPerSecond, actionsPerSecond); transactionsPerCommit is the group commit's write transactions per COMMIT in those phases; listings until every task is offered; actions are poster cancels of offered tasks (one signed `refunding` event each, the effect runner cancelling holds meanwhile); duplicates are copies of every handled event; forgeries have a correct id and a signature made for another event, from many keys",
      };
    }, extra),
  );
}

/** Forgeries pushed at once into an intake queue wired as runAgent wires it, with `threads` verification workers. */
async function forgedThroughQueue(
  ctx: Harness['agent']['ctx'],
  gate: ReturnType<typeof createRateGate>,
  raws: string[],
  threads: number,
): Promise<number> {
  const memory = createIntakeMemory();
  const preverifier = threads > 0 ? createPreverifier(createVerifyPool(threads), memory.seen) : null;
  memory.ahead = preverifier;
  let wrong = 0;
  const queue = createIntakeQueue(
    async (event, relay) => {
      const outcome = await intakeEvent(ctx, gate, event, relay, memory);
      if (outcome.status !== 'dropped' || outcome.code !== 'BadSignature') wrong += 1;
    },
    preverifier ? { ahead: ({ id, pubkey, sig }) => preverifier.ahead(id, pubkey, sig) } : {},
  );
  // Warm the workers up (their start is not part of the rate).
  if (preverifier)
    await Promise.all(Array.from({ length: threads * 2 }, () => queue.push(raws[0]!, 'bench')));
  const started = performance.now();
  await Promise.all(raws.map((raw) => queue.push(raw, 'bench')));
  const perSecond = rate(raws.length, started);
  await preverifier?.close();
  if (wrong > 0) throw new Error(`bench: ${wrong} forgeries were not dropped for their signature`);
  return perSecond;
}

function fdatasyncMs(): number {
  const dir = mkdtempSync(join(tmpdir(), 'escrow-bench-fsync-'));
  const fd = openSync(join(dir, 'probe'), 'w');
  const rounds = 50;
  const started = performance.now();
  for (let index = 0; index < rounds; index++) {
    writeSync(fd, 'x'.repeat(512));
    fdatasyncSync(fd);
  }
  const perSync = (performance.now() - started) / rounds;
  closeSync(fd);
  rmSync(dir, { recursive: true, force: true });
  return Math.round(perSync * 100) / 100;
}

async function storeLookupMicroseconds(harness: Harness, count: number): Promise<number> {
  const ids = Array.from({ length: count }, () => randomBytes(32).toString('hex'));
  const started = performance.now();
  for (const id of ids) await harness.store.read((reader) => reader.inbound.has(id));
  return Math.round(((performance.now() - started) * 1000) / count);
}

function parseMicroseconds(raws: string[]): number {
  const started = performance.now();
  for (const raw of raws) {
    const json = parseStrictJson(raw);
    if (!json.ok || !parseEvent(json.value).ok) throw new Error('bench: a forged event did not parse');
  }
  return Math.round(((performance.now() - started) * 1000) / raws.length);
}

async function benchHoldInvoices(harness: Harness, count: number): Promise<number> {
  const node = harness.agent.ctx.lightning;
  const finalCltvDelta = requiredFinalCltv(harnessPolicy().windows, harnessPolicy());
  const hashes = Array.from({ length: count }, () => randomBytes(32).toString('hex'));
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < hashes.length) {
        const paymentHash = hashes[next++]!;
        await node.createHoldInvoice({
          paymentHash,
          amountMsat: 21_000_000n,
          description: `escrow bench: hold ${paymentHash.slice(0, 12)}`,
          expirySeconds: 3600,
          finalCltvDelta,
        });
      }
    }),
  );
  const perSecond = rate(count, started);
  for (const paymentHash of hashes) await node.cancel(paymentHash);
  return perSecond;
}

async function waitUntilNone(harness: Harness, state: 'posted') {
  const deadline = Date.now() + 600_000;
  // A count (the stats snapshot), not the tasks: decoding every waiting task each 5 ms was a tenth of the listings
  // phase's profile, charged to the agent.
  const left = async () =>
    (await harness.store.read((reader) => reader.stats.snapshot())).tasksByState[state] ?? 0;
  while ((await left()) > 0) {
    if (Date.now() > deadline) throw new Error(`bench: tasks still ${state} after 10 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Claims from 256 keys on the bench's tasks: a correct id with another event's signature, or a wrong id. */
function forgeries(count: number, agent: string, listings: NostrEvent[]) {
  const keys = Array.from({ length: 256 }, () => randomBytes(32));
  const signed = Array.from({ length: count + 1 }, (_, index) =>
    finalizeEvent(
      actionTemplate({
        name: 'claim',
        taskId: listings[index % listings.length]!.id,
        agent,
        createdAt: Math.floor(Date.now() / 1000) - index,
        extraTags: [],
        content: `forged ${index}`,
      }),
      keys[index % keys.length]!,
    ),
  );
  const badSignature = signed
    .slice(0, count)
    .map((event, index) => JSON.stringify({ ...event, sig: signed[index + 1]!.sig }));
  const badId = signed
    .slice(0, count)
    .map((event) => JSON.stringify({ ...event, id: randomBytes(32).toString('hex') }));
  return { badSignature, badId };
}

async function benchApprovalToPayment(harness: Harness, lifecycles: number, trace?: Trace) {
  const toSettled: number[] = [];
  const toPaid: number[] = [];
  let oneApproval: string[] | undefined;
  for (let index = 0; index < lifecycles; index++) {
    const amount = 10_000_000n + BigInt(index) * 1000n;
    const _fee = 1000n + (amount * 10_000n) / 1_000_000n;
    const { listing, payment } = await harness.fundTask(amount);
    await harness.submitWork(listing.id, amount);
    if (trace) {
      await harness.agent.settle();
      trace.clear();
    }
    const labels = await watchLabels(harness, listing.id);
    const sent = performance.now();
    const approved = performance.now(); // act() resolves when the relay answered OK
    await harness.act(harness.poster, 'approve', listing.id);
    const relayOk = performance.now();
    const settledSeen = await labels.at('settled');
    toSettled.push(settledSeen - approved);
    const paidSeen = await labels.at('paid');
    toPaid.push(paidSeen - approved);
    labels.close();
    await payment;
    if (trace && index === lifecycles - 1) {
      trace.mark(sent, 'bench: approval sent to the relay');
      trace.mark(relayOk, 'bench: the relay answered OK to the poster');
      trace.mark(settledSeen, 'bench: `settled` reached the bench’s subscription on the relay');
      trace.mark(paidSeen, 'bench: `paid` reached the bench’s subscription on the relay');
      oneApproval = trace.lines(sent);
    }
  }
  return {
    lifecycles,
    approvalToSettlementEventMs: summarise(toSettled),
    approvalToWorkerPaidEventMs: summarise(toPaid),
    note: 'from sending the approval to the relay to the agent event reaching a live subscription on that relay (opened before the approval; a raw WebSocket client that does not check signatures, so waiting costs the agent nothing)',
    ...(oneApproval ? { oneApproval } : {}),
  };
}

/**
 * Approvals while `burst` new listings (from 16 keys, signed beforehand) are on their way through the relay and
 * the agent: the tasks are funded and submitted first, then the burst is published without waiting, then each
 * task is approved in turn. Each figure says how many of the burst's listings were still not offered when its
 * approval was sent, so the figures are known to fall inside the burst.
 */
async function benchDuringListingBurst(harness: Harness, lifecycles: number, burst: number) {
  const ready: string[] = [];
  for (let index = 0; index < lifecycles; index++) {
    const amount = 10_000_000n + BigInt(index) * 1000n;
    const { listing } = await harness.fundTask(amount);
    await harness.submitWork(listing.id, amount);
    ready.push(listing.id);
  }
  await harness.agent.settle();
  const posters = Array.from({ length: 16 }, () => randomBytes(32));
  const createdAt = Math.floor(Date.now() / 1000);
  const listings = Array.from({ length: burst }, (_, index) =>
    finalizeEvent(
      {
        kind: KINDS.listing,
        created_at: createdAt,
        tags: [
          ['d', `burst-${index}`],
          ['title', `Burst task ${index}`],
          ['amount', '21000000'],
          ['p', harness.agentKey.pubkey],
          ['t', 'escrow'],
        ],
        content: 'burst',
      },
      posters[index % posters.length]!,
    ),
  );
  const offeredBefore = (await harness.store.read((reader) => reader.stats.snapshot())).tasksByState;
  // The burst comes over its own connection (another client), as it would from whoever sends it.
  const burstClient = await connectNostrTools(harness.relay.url);
  const published = Promise.all(listings.map((event) => burstClient.publish(event).catch(() => 'refused')));
  const burstStarted = performance.now();
  const toSettled: number[] = [];
  const toPaid: number[] = [];
  const burstLeft: number[] = [];
  const notOffered = async () => {
    const byState = (await harness.store.read((reader) => reader.stats.snapshot())).tasksByState;
    return burst - ((byState.offered ?? 0) - (offeredBefore.offered ?? 0));
  };
  // When the last burst listing is offered, watched on the side (every 50 ms), not after the approvals.
  let burstOfferedAfterMs: number | null = null;
  const watching = (async () => {
    const deadline = Date.now() + 600_000;
    while (Date.now() < deadline) {
      if ((await notOffered()) <= 0) {
        burstOfferedAfterMs = Math.round(performance.now() - burstStarted);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  for (const taskId of ready) {
    burstLeft.push(await notOffered());
    const labels = await watchLabels(harness, taskId);
    const approved = performance.now();
    await harness.act(harness.poster, 'approve', taskId);
    toSettled.push((await labels.at('settled')) - approved);
    toPaid.push((await labels.at('paid')) - approved);
    labels.close();
  }
  const approvalsDoneAfterMs = Math.round(performance.now() - burstStarted);
  await published;
  burstClient.close();
  await watching;
  return {
    lifecycles,
    burst,
    approvalToSettledMs: summarise(toSettled),
    approvalToPaidMs: summarise(toPaid),
    burstListingsNotYetOfferedAtEachApproval: burstLeft,
    approvalsDoneAfterMs,
    burstOfferedAfterMs,
    note: `${burst} listings published at once from 16 keys, then the approvals one after another while the agent works through them (each approval's count of burst listings not yet offered is listed)`,
  };
}

/**
 * When each of the agent's label events for a task reaches one live subscription on the harness's relay, opened
 * (and past its EOSE) before the approval is sent: no polling, and no signature checks on the bench's side (the
 * relay checked them when the agent published), so the bench's waiting takes no time from the agent's thread. An
 * earlier version polled with nostr-tools every 10 ms; its signature checks in JavaScript (about 2 ms an event,
 * 6 to 8 events a task) ran on the agent's thread and added about 20 ms to each figure.
 */
async function watchLabels(harness: Harness, taskId: string) {
  const socket = new WebSocket(harness.relay.url);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const seen = new Map<string, number>();
  const waiting = new Map<string, Array<(at: number) => void>>();
  let caughtUp: () => void = () => {};
  const eose = new Promise<void>((resolve) => {
    caughtUp = resolve;
  });
  socket.on('message', (data) => {
    const at = performance.now();
    const message = JSON.parse(String(data)) as [string, string, NostrEvent?];
    if (message[0] === 'EOSE') return caughtUp();
    if (message[0] !== 'EVENT' || !message[2]) return;
    for (const tag of message[2].tags) {
      if (tag[0] !== 'l' || tag[1] === undefined || seen.has(tag[1])) continue;
      seen.set(tag[1], at);
      for (const resolve of waiting.get(tag[1]) ?? []) resolve(at);
      waiting.delete(tag[1]);
    }
  });
  socket.send(
    JSON.stringify([
      'REQ',
      'labels',
      { kinds: [KINDS.label], authors: [harness.agentKey.pubkey], '#e': [taskId] },
    ]),
  );
  await eose;
  return {
    at(label: string): Promise<number> {
      const at = seen.get(label);
      if (at !== undefined) return Promise.resolve(at);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`bench: no ${label} event within 120 s`)), 120_000);
        waiting.set(label, [
          ...(waiting.get(label) ?? []),
          (value) => {
            clearTimeout(timer);
            resolve(value);
          },
        ]);
      });
    },
    close: () => socket.close(),
  };
}

// Tracing (the `oneApproval` trace): wrappers that record each call on the agent's store and Lightning node, and
// each log line, with its time, and forward everything unchanged. Only the bench uses them.

export interface Trace {
  /** Records an instant (`at` from performance.now()). */
  mark(at: number, text: string): void;
  /** Records a span that began at `start` and ends now. */
  span(start: number, text: string): void;
  clear(): void;
  /** The entries since `from`, oldest first, as "+12.3 ms (4.1 ms) text". */
  lines(from: number): string[];
}

export function createTrace(): Trace {
  let entries: Array<{ start: number; end: number; text: string }> = [];
  return {
    mark: (at, text) => entries.push({ start: at, end: at, text }),
    span: (start, text) => entries.push({ start, end: performance.now(), text }),
    clear: () => {
      entries = [];
    },
    lines: (from) =>
      entries
        .filter((entry) => entry.end >= from)
        .sort((a, b) => a.start - b.start || a.end - b.end)
        .map(
          (entry) =>
            `+${(entry.start - from).toFixed(1)} ms${entry.end > entry.start ? ` (${(entry.end - entry.start).toFixed(1)} ms)` : ''} ${entry.text}`,
        ),
  };
}

/** The repositories' methods called on one transaction or snapshot (e.g. `tasks.update`), in order. */
function recordingTx<T extends object>(tx: T, calls: string[]): T {
  return new Proxy(tx, {
    get(target, name, receiver) {
      const repository = Reflect.get(target, name, receiver) as unknown;
      if (typeof repository !== 'object' || repository === null) return repository;
      return new Proxy(repository, {
        get(inner, method, innerReceiver) {
          const value = Reflect.get(inner, method, innerReceiver) as unknown;
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            calls.push(`${String(name)}.${String(method)}`);
            return (value as (...a: unknown[]) => unknown).apply(inner, args);
          };
        },
      });
    },
  });
}

/** The store, each transaction (begin to commit, fsync included) and read recorded with the methods it called. */
export function traceStore(store: EscrowStore, trace: Trace): EscrowStore {
  return new Proxy(store, {
    get(target, name, receiver) {
      if (name === 'transaction' || name === 'read') {
        return async <T>(fn: (tx: never) => Promise<T>) => {
          const calls: string[] = [];
          const start = performance.now();
          try {
            return await (target[name] as (f: (tx: object) => Promise<T>) => Promise<T>).call(target, (tx) =>
              fn(recordingTx(tx, calls) as never),
            );
          } finally {
            trace.span(start, `store ${name === 'transaction' ? 'commit' : 'read'}: ${calls.join(', ')}`);
          }
        };
      }
      const value = Reflect.get(target, name, receiver) as unknown;
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
}

/** The Lightning node, each call recorded (and counted in `counts` when given), forwarded unchanged. */
export function traceLightning(
  node: HoldInvoiceBackend,
  trace: Trace | null,
  counts?: Map<string, number>,
): HoldInvoiceBackend {
  return new Proxy(node, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (name === 'subscribe') return (value as () => unknown).bind(target);
      return async (...args: unknown[]) => {
        counts?.set(String(name), (counts.get(String(name)) ?? 0) + 1);
        const start = performance.now();
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          trace?.span(start, `node ${String(name)}`);
        }
      };
    },
  });
}

/** A debug-level logger whose lines go into the trace (message and task id; never the other fields). */
export function traceLogger(trace: Trace): Logger {
  return pino(
    { level: 'debug' },
    {
      write(line: string) {
        const at = performance.now();
        try {
          const entry = JSON.parse(line) as { msg?: string; taskId?: string; command?: string };
          trace.mark(at, `log: ${entry.msg ?? ''}${entry.command ? ` (${entry.command})` : ''}`);
        } catch {
          trace.mark(at, 'log: (unreadable line)');
        }
      },
    },
  );
}
