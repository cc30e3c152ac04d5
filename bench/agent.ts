// Agent figures (issue #4): events per second through the whole intake path, and the time from a poster's
// approval reaching the relay to the settlement event and to the worker's payment. Real relay, real LDK nodes,
// SQLite on disk. Ratios and medians from one run; nothing here is asserted.
import { finalizeEvent, type NostrEvent } from 'nostr-tools/pure';
import { createIntakeMemory, intakeEvent } from '../src/agent/intake.ts';
import { createRateGate } from '../src/agent/rate-gate.ts';
import { KINDS } from '../src/protocol/constants.ts';
import { parseEventJson } from '../src/protocol/schemas.ts';
import { verifyEvent } from '../src/protocol/verify-event.ts';
import { startHarness } from '../test/fakes/agent-harness.ts';
import { summarise } from './stats.ts';

export async function benchAgent(options: { intakeEvents: number; lifecycles: number; duplicates?: number }) {
  // Two fresh agents: the intake run leaves many offered tasks that the reconciler would keep looking up.
  const intake = await withHarness(async (harness) => {
    const { figures, handled } = await benchIntake(harness, options.intakeEvents);
    return { ...figures, duplicates: await benchDuplicates(harness, handled, options.duplicates ?? 3000) };
  });
  const approvalToPayment = await withHarness((harness) =>
    benchApprovalToPayment(harness, options.lifecycles),
  );
  return { intake, approvalToPayment };
}

async function withHarness<T>(run: (harness: Harness) => Promise<T>): Promise<T> {
  const harness = await startHarness();
  try {
    return await run(harness);
  } finally {
    await harness.stop();
  }
}

type Harness = Awaited<ReturnType<typeof startHarness>>;

async function benchIntake(harness: Harness, count: number) {
  const gate = createRateGate({ perMinute: 1_000_000, burst: 1_000_000 });
  const listings = Array.from({ length: count }, (_, index) =>
    finalizeEvent(
      {
        kind: KINDS.listing,
        created_at: Math.floor(Date.now() / 1000),
        tags: [
          ['d', `bench-${index}`],
          ['title', `Bench task ${index}`],
          ['amount', '21000000'],
          ['p', harness.agentKey.pubkey],
          ['t', 'escrow'],
        ],
        content: 'bench',
      },
      harness.poster.secretKey,
    ),
  );
  // New tasks: size, shape, id + signature, dedupe, rate gate, freshness, router, decider, one transaction each.
  const started = performance.now();
  for (const event of listings) await intakeEvent(harness.agent.ctx, gate, event, 'bench');
  const newSeconds = (performance.now() - started) / 1000;
  // The same events again: the duplicate path (verified, then dropped by the durable dedupe).
  const again = performance.now();
  for (const event of listings)
    await intakeEvent(harness.agent.ctx, gate, JSON.parse(JSON.stringify(event)), 'bench');
  const duplicateSeconds = (performance.now() - again) / 1000;
  await harness.agent.settle();
  return {
    handled: listings,
    figures: {
      events: count,
      newTasksPerSecond: Math.round(count / newSeconds),
      duplicatesPerSecond: Math.round(count / duplicateSeconds),
      note: 'listings fed straight into the intake of a running agent (SQLite on disk, effect runner creating hold invoices meanwhile)',
    },
  };
}

/**
 * Copies of already-handled events (issue #9: one event from three relays). Before: the intake verified every
 * copy, then asked the durable dedupe (size + strict JSON + zod, id + Schnorr, inbound.has: measured here as
 * exactly those calls). After: the id is looked up before verification, in memory (a warm set) or in the store
 * (a cold set, as after a restart). Same events, same agent, one run.
 */
async function benchDuplicates(harness: Harness, handled: NostrEvent[], count: number) {
  const copies = Array.from({ length: count }, (_, index) => JSON.stringify(handled[index % handled.length]));
  const gate = createRateGate({ perMinute: 1_000_000, burst: 1_000_000 });
  const rate = async (run: (raw: string) => Promise<void>) => {
    const started = performance.now();
    for (const raw of copies) await run(raw);
    return Math.round(count / ((performance.now() - started) / 1000));
  };
  const verifyThenDedupe = async (raw: string) => {
    const parsed = parseEventJson(raw);
    if (!parsed.ok || !verifyEvent(parsed.event).ok) throw new Error('bench: a handled event failed');
    const id = parsed.event.id;
    if (!(await harness.store.read((reader) => reader.inbound.has(id))))
      throw new Error('bench: not a duplicate');
  };
  const dropped = (memory: ReturnType<typeof createIntakeMemory>) => async (raw: string) => {
    const outcome = await intakeEvent(harness.agent.ctx, gate, raw, 'bench', memory);
    if (outcome.status !== 'dropped' || outcome.code !== 'AlreadySeen') throw new Error('bench: not dropped');
  };
  // The old path is measured first and last, so the background work of the agent weighs on both sides alike.
  const before = await rate(verifyThenDedupe);
  // A one-id memory: every copy is looked up in the store (as right after a restart).
  const afterStore = await rate(dropped(createIntakeMemory({ seenCapacity: 1 })));
  const warm = createIntakeMemory();
  for (const event of handled)
    await intakeEvent(harness.agent.ctx, gate, JSON.stringify(event), 'bench', warm);
  const afterMemory = await rate(dropped(warm));
  const beforeAgain = await rate(verifyThenDedupe);
  return {
    duplicates: count,
    verifyThenDedupePerSecond: [before, beforeAgain],
    dedupeFirstStorePerSecond: afterStore,
    dedupeFirstMemoryPerSecond: afterMemory,
    note: 'raw JSON copies of handled listings. Before (run first and last): parse + zod + id/Schnorr verification + inbound.has, what the old intake did with every copy. After: intakeEvent, the id found before verification in the store (cold memory) or in memory',
  };
}

async function benchApprovalToPayment(harness: Harness, lifecycles: number) {
  const toSettled: number[] = [];
  const toPaid: number[] = [];
  for (let index = 0; index < lifecycles; index++) {
    const amount = 10_000_000n + BigInt(index) * 1000n;
    const _fee = 1000n + (amount * 10_000n) / 1_000_000n;
    const { listing, payment } = await harness.fundTask(amount);
    await harness.submitWork(listing.id, amount);
    const approved = performance.now(); // act() resolves when the relay answered OK
    await harness.act(harness.poster, 'approve', listing.id);
    await waitForLabel(harness, listing.id, 'settled');
    toSettled.push(performance.now() - approved);
    await waitForLabel(harness, listing.id, 'paid');
    toPaid.push(performance.now() - approved);
    await payment;
  }
  return {
    lifecycles,
    approvalToSettlementEventMs: summarise(toSettled),
    approvalToWorkerPaidEventMs: summarise(toPaid),
    note: 'from the relay accepting the approval to the agent event being readable on the relay (polled every 10 ms)',
  };
}

async function waitForLabel(harness: Harness, taskId: string, label: string) {
  for (;;) {
    const events = await harness.agentEvents(taskId);
    if (events.some((event) => event.tags.some((tag) => tag[0] === 'l' && tag[1] === label))) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
