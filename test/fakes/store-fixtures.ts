// Hand-built Task / TaskEvent fixtures for the store's tests (valid shapes per src/domain/types.ts, written
// out by hand so the store's tests do not depend on the decider), a controllable clock, and one sample
// history written through the store API, used to compare projections across databases.
import { createHash } from 'node:crypto';
import { sha256Hex } from '../../src/domain/canonical.ts';
import { emptyLedger } from '../../src/domain/money.ts';
import type { Payout, Task, TaskEvent } from '../../src/domain/types.ts';
import type { EscrowStore } from '../../src/store/port.ts';

export const T0 = 1_800_000_000;
export const H0 = 840_000;
export const PREIMAGE_KEY = new Uint8Array(32).fill(7);
export const OTHER_PREIMAGE_KEY = new Uint8Array(32).fill(9);
export const RELAYS = ['wss://relay.one.example', 'wss://relay.two.example', 'wss://relay.three.example'];

/** 64 lowercase hex characters derived from a label: readable, stable test ids. */
export function hex64(label: string): string {
  return sha256Hex(`fixture:${label}`);
}

/** A preimage derived from a label, and its payment hash. */
export function preimageFor(label: string): { preimage: Uint8Array; paymentHash: string } {
  const preimage = new Uint8Array(createHash('sha256').update(`preimage:${label}`).digest());
  return { preimage, paymentHash: sha256Hex(preimage) };
}

export interface TestClock {
  now: () => number;
  advance(seconds: number): void;
}

export function testClock(start = T0): TestClock {
  let current = start;
  return {
    now: () => current,
    advance(seconds) {
      current += seconds;
    },
  };
}

const WINDOWS = { claimSeconds: 21_600, workSeconds: 43_200, reviewSeconds: 14_400, disputeSeconds: 7_200 };

const EMPTY_LEDGER = emptyLedger();

export interface StoryStep {
  task: Task;
  events: TaskEvent[];
}

/** Everything about one task's happy path, step by step: each step is the task after its events. */
export interface TaskStory {
  id: string;
  poster: string;
  worker: string;
  amountMsat: bigint;
  feeMsat: bigint;
  funding: { preimage: Uint8Array; paymentHash: string; bolt11: string };
  payout: { bolt11: string; paymentHash: string; proof: string };
  posted: StoryStep;
  offered: StoryStep;
  funded: StoryStep;
  claimed: StoryStep;
  submitted: StoryStep;
  /** Two events in one step: settle_requested then hold_settled. */
  settled: StoryStep;
  payoutStarted: StoryStep;
  paid: StoryStep;
}

export function taskStory(label: string, options: { amountMsat?: bigint; at?: number } = {}): TaskStory {
  const id = hex64(`task:${label}`);
  const poster = hex64(`poster:${label}`);
  const worker = hex64(`worker:${label}`);
  const amountMsat = options.amountMsat ?? 21_000_000n;
  const feeMsat = 1_000n + amountMsat / 100n;
  const at = options.at ?? T0;
  const { preimage, paymentHash } = preimageFor(label);
  const holdInvoice = `lnbcrt${label}hold`;
  const workerInvoice = `lnbcrt${label}worker`;
  const payoutHash = hex64(`payout:${label}`);
  const payoutProof = hex64(`payout-proof:${label}`);

  const postedEvent: TaskEvent = {
    type: 'task_posted',
    at,
    taskId: id,
    poster,
    amountMsat,
    feeMsat,
    title: `Task ${label}`,
    windows: WINDOWS,
  };
  const postedTask: Task = {
    id,
    state: 'posted',
    poster,
    worker: null,
    amountMsat,
    feeMsat,
    title: `Task ${label}`,
    windows: WINDOWS,
    postedAt: at,
    funding: null,
    fundedAt: null,
    claimedAt: null,
    submittedAt: null,
    disputedAt: null,
    disputedBy: null,
    arbitration: { arbitrators: [], threshold: 0, deadlineRule: 'refund', rulesSha256: '' },
    statements: [],
    verdicts: [],
    custodySince: null,
    reason: null,
    resolution: null,
    workerInvoice: null,
    payouts: [],
    ledger: EMPTY_LEDGER,
    version: 1,
  };
  const offeredTask: Task = {
    ...postedTask,
    state: 'offered',
    funding: {
      paymentHash,
      bolt11: holdInvoice,
      invoiceExpiresAt: at + 3600,
      finalCltvDelta: 340,
      receivedMsat: 0n,
      htlcExpiryHeight: null,
      claimDeadlineHeight: null,
      acceptedAt: null,
    },
    version: 2,
  };
  const fundedTask: Task = {
    ...offeredTask,
    state: 'funded',
    funding: {
      ...offeredTask.funding!,
      receivedMsat: amountMsat,
      htlcExpiryHeight: H0 + 343,
      claimDeadlineHeight: H0 + 322,
      acceptedAt: at + 60,
    },
    fundedAt: at + 60,
    ledger: { ...EMPTY_LEDGER, receivedMsat: amountMsat, heldMsat: amountMsat },
    version: 3,
  };
  const claimedTask: Task = { ...fundedTask, state: 'claimed', worker, claimedAt: at + 120, version: 4 };
  const submittedTask: Task = {
    ...claimedTask,
    state: 'submitted',
    submittedAt: at + 600,
    workerInvoice,
    version: 5,
  };
  const duePayout: Payout = {
    recipient: 'worker',
    amountMsat: amountMsat - feeMsat,
    state: 'due',
    bolt11: workerInvoice,
    paymentHash: null,
    attempts: 0,
    routingFeeMsat: 0n,
    proofPreimage: null,
  };
  const settledTask: Task = {
    ...submittedTask,
    state: 'settled',
    reason: 'approved',
    resolution: { kind: 'worker' },
    payouts: [duePayout],
    ledger: { ...fundedTask.ledger, heldMsat: amountMsat - feeMsat, feeMsat },
    version: 7,
  };
  const inFlightPayout: Payout = { ...duePayout, state: 'in_flight', paymentHash: payoutHash, attempts: 1 };
  const payoutStartedTask: Task = { ...settledTask, payouts: [inFlightPayout], version: 8 };
  const paidTask: Task = {
    ...payoutStartedTask,
    state: 'paid',
    payouts: [{ ...inFlightPayout, state: 'succeeded', routingFeeMsat: 12n, proofPreimage: payoutProof }],
    ledger: {
      ...settledTask.ledger,
      heldMsat: 0n,
      paidToWorkerMsat: amountMsat - feeMsat,
      routingFeeMsat: 12n,
    },
    version: 9,
  };

  return {
    id,
    poster,
    worker,
    amountMsat,
    feeMsat,
    funding: { preimage, paymentHash, bolt11: holdInvoice },
    payout: { bolt11: workerInvoice, paymentHash: payoutHash, proof: payoutProof },
    posted: { task: postedTask, events: [postedEvent] },
    offered: {
      task: offeredTask,
      events: [
        {
          type: 'offered',
          at: at + 1,
          paymentHash,
          bolt11: holdInvoice,
          invoiceExpiresAt: at + 3600,
          finalCltvDelta: 340,
        },
      ],
    },
    funded: {
      task: fundedTask,
      events: [
        {
          type: 'funded',
          at: at + 60,
          amountMsat,
          htlcExpiryHeight: H0 + 343,
          claimDeadlineHeight: H0 + 322,
        },
      ],
    },
    claimed: { task: claimedTask, events: [{ type: 'claimed', at: at + 120, worker }] },
    submitted: {
      task: submittedTask,
      events: [{ type: 'submitted', at: at + 600, payoutInvoice: workerInvoice }],
    },
    settled: {
      task: settledTask,
      events: [
        { type: 'settle_requested', at: at + 700, reason: 'approved', resolution: { kind: 'worker' } },
        { type: 'hold_settled', at: at + 701 },
      ],
    },
    payoutStarted: {
      task: payoutStartedTask,
      events: [
        {
          type: 'payout_started',
          at: at + 702,
          recipient: 'worker',
          bolt11: workerInvoice,
          paymentHash: payoutHash,
          amountMsat: amountMsat - feeMsat,
        },
      ],
    },
    paid: {
      task: paidTask,
      events: [
        {
          type: 'payout_succeeded',
          at: at + 710,
          recipient: 'worker',
          routingFeeMsat: 12n,
          preimage: payoutProof,
        },
      ],
    },
  };
}

/** The steps of a story in order, from posted to paid. */
export function storySteps(story: TaskStory): StoryStep[] {
  return [
    story.posted,
    story.offered,
    story.funded,
    story.claimed,
    story.submitted,
    story.settled,
    story.payoutStarted,
    story.paid,
  ];
}

/** Commits `next` over `previous` (compare-and-set on previous's state and version). */
export async function advance(store: EscrowStore, previous: StoryStep, next: StoryStep): Promise<boolean> {
  return store.transaction((tx) =>
    tx.tasks.commit({
      task: next.task,
      expected: { state: previous.task.state, version: previous.task.version },
      events: next.events,
    }),
  );
}

/** Writes a task up to (and including) step `until` through the store API, with its funding and payout rows
 * as the agent would write them, one transaction per step. */
export async function writeStory(
  store: EscrowStore,
  story: TaskStory,
  until: keyof Pick<
    TaskStory,
    'posted' | 'offered' | 'funded' | 'claimed' | 'submitted' | 'settled' | 'payoutStarted' | 'paid'
  >,
  clock?: TestClock,
): Promise<void> {
  const steps = storySteps(story);
  const last = steps.indexOf(story[until]);
  await store.transaction((tx) => tx.tasks.create(story.posted.task, story.posted.events));
  for (let index = 1; index <= last; index += 1) {
    const previous = steps[index - 1]!;
    const step = steps[index]!;
    clock?.advance(1);
    await store.transaction(async (tx) => {
      // Intent first: the funding (with its preimage) exists before the invoice is published.
      if (step === story.offered) {
        await tx.fundings.insert({ taskId: story.id, ...story.funding, amountMsat: story.amountMsat });
      }
      if (step === story.funded) {
        await tx.fundings.transition(story.funding.paymentHash, ['open'], 'accepted', {
          receivedMsat: story.amountMsat,
          htlcExpiryHeight: H0 + 343,
          claimDeadlineHeight: H0 + 322,
        });
      }
      if (step === story.settled)
        await tx.fundings.transition(story.funding.paymentHash, ['accepted'], 'settled');
      if (step === story.payoutStarted) {
        await tx.payouts.start({
          taskId: story.id,
          recipient: 'worker',
          bolt11: story.payout.bolt11,
          paymentHash: story.payout.paymentHash,
          amountMsat: story.amountMsat - story.feeMsat,
        });
      }
      if (step === story.paid) {
        const [payout] = await tx.payouts.forTask(story.id);
        await tx.payouts.finish(payout!.id, 'succeeded', { routingFeeMsat: 12n });
      }
      const moved = await tx.tasks.commit({
        task: step.task,
        expected: { state: previous.task.state, version: previous.task.version },
        events: step.events,
      });
      if (!moved) throw new Error(`fixture: task ${story.id} did not move to ${step.task.state}`);
    });
  }
}

/**
 * One history of several tasks in different states, written through the store API: a paid task, one in
 * flight, one claimed, one offered, one whose invoice was cancelled with a failed-then-retried payout on
 * another. `reverse` writes the tasks in the opposite order; `extraReceivedMsat` changes one value.
 */
export async function writeSampleHistory(
  store: EscrowStore,
  options: { reverse?: boolean; extraReceivedMsat?: bigint; clock?: TestClock } = {},
): Promise<void> {
  const writers: Array<() => Promise<void>> = [
    () => writeStory(store, taskStory('alpha'), 'paid', options.clock),
    () =>
      writeStory(
        store,
        taskStory('bravo', { amountMsat: 2_100_000_000_000_000_000n }),
        'payoutStarted',
        options.clock,
      ),
    () => writeStory(store, taskStory('charlie', { at: T0 + 5000 }), 'claimed', options.clock),
    () => writeStory(store, taskStory('delta'), 'offered', options.clock),
    async () => {
      const echo = taskStory('echo');
      await writeStory(store, echo, 'payoutStarted', options.clock);
      await store.transaction(async (tx) => {
        const [first] = await tx.payouts.forTask(echo.id);
        await tx.payouts.finish(first!.id, 'failed');
        await tx.payouts.start({
          taskId: echo.id,
          recipient: 'worker',
          bolt11: `${echo.payout.bolt11}-second`,
          paymentHash: hex64('payout:echo:second'),
          amountMsat: echo.amountMsat - echo.feeMsat,
        });
      });
    },
  ];
  for (const write of options.reverse ? writers.reverse() : writers) await write();
  // The one value `extraReceivedMsat` changes: what the node reported for delta's hold.
  const delta = taskStory('delta');
  await store.transaction((tx) =>
    tx.fundings.transition(delta.funding.paymentHash, ['open'], 'accepted', {
      receivedMsat: delta.amountMsat + (options.extraReceivedMsat ?? 0n),
    }),
  );
}
