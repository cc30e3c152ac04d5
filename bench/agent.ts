// Agent figures (issue #4): events per second through the whole intake path, and the time from a poster's
// approval reaching the relay to the settlement event and to the worker's payment. Real relay, real LDK nodes,
// SQLite on disk. Ratios and medians from one run; nothing here is asserted.
import { finalizeEvent } from 'nostr-tools/pure';
import { intakeEvent } from '../src/agent/intake.ts';
import { createRateGate } from '../src/agent/rate-gate.ts';
import { KINDS } from '../src/protocol/constants.ts';
import { startHarness } from '../test/fakes/agent-harness.ts';
import { summarise } from './stats.ts';

export async function benchAgent(options: { intakeEvents: number; lifecycles: number }) {
  // Two fresh agents: the intake run leaves many offered tasks that the reconciler would keep looking up.
  const intake = await withHarness((harness) => benchIntake(harness, options.intakeEvents));
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
    events: count,
    newTasksPerSecond: Math.round(count / newSeconds),
    duplicatesPerSecond: Math.round(count / duplicateSeconds),
    note: 'listings fed straight into the intake of a running agent (SQLite on disk, effect runner creating hold invoices meanwhile)',
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
