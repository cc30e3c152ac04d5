// Shared domain fixtures: a policy, people, and given/when/then helpers for the decider.
import { decide } from '../../src/domain/decide.ts';
import { evolve, fold } from '../../src/domain/evolve.ts';
import { RULEBOOK_SHA256 } from '../../src/domain/rulebook.ts';
import type { Arbitration, Command, DecideContext, Policy, Task, TaskEvent } from '../../src/domain/types.ts';

export const POSTER = 'a'.repeat(64);
export const WORKER = 'b'.repeat(64);
export const OTHER_WORKER = 'c'.repeat(64);
export const ARBITRATOR = 'd'.repeat(64);
export const STRANGER = 'e'.repeat(64);
export const TASK_ID = '1'.repeat(64);
export const PAYMENT_HASH = '2'.repeat(64);
export const PAYOUT_HASH = '3'.repeat(64);
export const PAYOUT_PREIMAGE = '4'.repeat(64);
export const HOLD_INVOICE = 'lnbcrt210n1holdinvoice';
export const WORKER_INVOICE = 'lnbcrt200n1workerinvoice';
export const POSTER_INVOICE = 'lnbcrt100n1posterinvoice';

export const T0 = 1_800_000_000;
export const H0 = 1000;

export function testPolicy(overrides: Partial<Policy> = {}): Policy {
  return {
    minAmountMsat: 10_000n,
    maxAmountMsat: 100_000_000_000n,
    fee: { baseMsat: 1000n, ppm: 10_000 },
    windows: {
      claimSeconds: 6 * 3600,
      workSeconds: 12 * 3600,
      reviewSeconds: 4 * 3600,
      disputeSeconds: 2 * 3600,
    },
    safetyMarginBlocks: 16,
    backendAutoCancelBlocks: 21,
    maxFinalCltvDelta: 1001,
    invoiceExpirySeconds: 3600,
    arbitrators: [ARBITRATOR],
    disputeDeadlineRule: 'refund',
    maxHoldSeconds: 24 * 3600,
    maxStatementLength: 4000,
    custodyMaxSeconds: 7 * 86_400,
    maxPayoutAttempts: 3,
    maxTitleLength: 200,
    ...overrides,
  };
}

export const AMOUNT = 21_000_000n; // 21,000 sat
export const FEE = 1000n + (AMOUNT * 10_000n) / 1_000_000n; // 211,000 msat

export function context(overrides: Partial<DecideContext> = {}): DecideContext {
  return { now: T0, height: H0, policy: testPolicy(), ...overrides };
}

/** The events of a task that reached `state`, through the happy path where possible. */
export const HISTORY = {
  posted: (): TaskEvent[] => [
    {
      type: 'task_posted',
      at: T0,
      taskId: TASK_ID,
      poster: POSTER,
      amountMsat: AMOUNT,
      feeMsat: FEE,
      title: 'Translate a README',
      windows: testPolicy().windows,
      arbitration: {
        arbitrators: [ARBITRATOR],
        threshold: 1,
        deadlineRule: 'refund',
        rulesSha256: RULEBOOK_SHA256,
      },
    },
  ],
  offered: (): TaskEvent[] => [
    ...HISTORY.posted(),
    {
      type: 'offered',
      at: T0 + 1,
      paymentHash: PAYMENT_HASH,
      bolt11: HOLD_INVOICE,
      invoiceExpiresAt: T0 + 3600,
      finalCltvDelta: 300,
    },
  ],
  funded: (): TaskEvent[] => [
    ...HISTORY.offered(),
    {
      type: 'funded',
      at: T0 + 60,
      amountMsat: AMOUNT,
      htlcExpiryHeight: H0 + 303,
      claimDeadlineHeight: H0 + 282,
    },
  ],
  claimed: (): TaskEvent[] => [...HISTORY.funded(), { type: 'claimed', at: T0 + 120, worker: WORKER }],
  submitted: (): TaskEvent[] => [
    ...HISTORY.claimed(),
    { type: 'submitted', at: T0 + 600, payoutInvoice: WORKER_INVOICE },
  ],
  disputed: (): TaskEvent[] => [
    ...HISTORY.submitted(),
    { type: 'disputed', at: T0 + 700, by: POSTER, reason: 'not done' },
  ],
  settling: (): TaskEvent[] => [
    ...HISTORY.submitted(),
    { type: 'settle_requested', at: T0 + 700, reason: 'approved', resolution: { kind: 'worker' } },
  ],
  settled: (): TaskEvent[] => [...HISTORY.settling(), { type: 'hold_settled', at: T0 + 701 }],
  inFlight: (): TaskEvent[] => [
    ...HISTORY.settled(),
    {
      type: 'payout_started',
      at: T0 + 702,
      recipient: 'worker',
      bolt11: WORKER_INVOICE,
      paymentHash: PAYOUT_HASH,
      amountMsat: AMOUNT - FEE,
    },
  ],
  paid: (): TaskEvent[] => [
    ...HISTORY.inFlight(),
    {
      type: 'payout_succeeded',
      at: T0 + 703,
      recipient: 'worker',
      routingFeeMsat: 5n,
      preimage: PAYOUT_PREIMAGE,
    },
  ],
  refunding: (): TaskEvent[] => [
    ...HISTORY.funded(),
    { type: 'refund_requested', at: T0 + 100, reason: 'poster_cancelled' },
  ],
  refunded: (): TaskEvent[] => [...HISTORY.refunding(), { type: 'hold_cancelled', at: T0 + 101 }],
};

/** The history with its task posted under another arbitration (who decides disputes is committed at posting). */
export function withArbitration(events: TaskEvent[], arbitration: Partial<Arbitration>): TaskEvent[] {
  return events.map((event) =>
    event.type === 'task_posted'
      ? {
          ...event,
          arbitration: {
            arbitrators: [ARBITRATOR],
            threshold: 1,
            deadlineRule: 'refund',
            rulesSha256: RULEBOOK_SHA256,
            ...event.arbitration,
            ...arbitration,
          },
        }
      : event,
  );
}

export function given(events: TaskEvent[]): Task | null {
  return fold(events);
}

/** Runs one command on a history; returns the decision and, when accepted, the task after it. */
export function when(events: TaskEvent[], command: Command, ctx: DecideContext = context()) {
  const before = given(events);
  const decision = decide(before, command, ctx);
  const after = decision.ok ? decision.events.reduce<Task | null>(evolve, before) : before;
  return { before, decision, after };
}

/** Two more active arbitrators, for k-of-n arbitration (ARBITRATOR is the first of the three). */
export const ARBITRATOR_2 = '5'.repeat(64);
export const ARBITRATOR_3 = '6'.repeat(64);

/** The test policy with three active arbitrators: ARBITRATOR, ARBITRATOR_2 and ARBITRATOR_3. */
export function threeArbitratorPolicy(overrides: Partial<Policy> = {}): Policy {
  return testPolicy({ arbitrators: [ARBITRATOR, ARBITRATOR_2, ARBITRATOR_3], ...overrides });
}
