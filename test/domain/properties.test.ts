// Model-based property tests: random command sequences from posters, workers, arbitrators, strangers, the
// node and the clock; the invariants of the escrow are checked after every step.
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decide } from '../../src/domain/decide.ts';
import { evolve } from '../../src/domain/evolve.ts';
import { conservationViolation, netPayableMsat } from '../../src/domain/money.ts';
import type { Command, Policy, Task, TaskEvent } from '../../src/domain/types.ts';
import { TERMINAL_STATES } from '../../src/domain/types.ts';
import {
  AMOUNT,
  ARBITRATOR,
  H0,
  OTHER_WORKER,
  PAYMENT_HASH,
  PAYOUT_HASH,
  PAYOUT_PREIMAGE,
  POSTER,
  POSTER_INVOICE,
  STRANGER,
  T0,
  TASK_ID,
  testPolicy,
  WORKER,
  WORKER_INVOICE,
} from '../fakes/domain.ts';

const people = fc.constantFrom(POSTER, WORKER, OTHER_WORKER, ARBITRATOR, STRANGER);
const recipient = fc.constantFrom('worker' as const, 'poster' as const);

/** Commands with the right payment hash most of the time, so that runs get deep into the life of a task. */
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.constant<Command>({
      type: 'post',
      taskId: TASK_ID,
      by: POSTER,
      amountMsat: AMOUNT,
      title: 't',
    }),
  },
  {
    weight: 2,
    arbitrary: fc.constant<Command>({
      type: 'offer',
      paymentHash: PAYMENT_HASH,
      bolt11: 'lnbcrt1hold',
      invoiceExpiresAt: T0 + 3600,
      finalCltvDelta: 300,
    }),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({
        amount: fc.constantFrom(AMOUNT, AMOUNT, AMOUNT, AMOUNT + 1n),
        hash: fc.constantFrom(PAYMENT_HASH, PAYMENT_HASH, PAYOUT_HASH),
      })
      .map(
        ({ amount, hash }): Command => ({
          type: 'hold_accepted',
          paymentHash: hash,
          amountMsat: amount,
          htlcExpiryHeight: H0 + 303,
          claimDeadlineHeight: H0 + 282,
        }),
      ),
  },
  { weight: 3, arbitrary: people.map((by): Command => ({ type: 'claim', by })) },
  {
    weight: 3,
    arbitrary: fc
      .record({ by: people, invoice: fc.constantFrom(WORKER_INVOICE, null) })
      .map(({ by, invoice }): Command => ({ type: 'submit', by, payoutInvoice: invoice })),
  },
  { weight: 3, arbitrary: people.map((by): Command => ({ type: 'approve', by })) },
  { weight: 1, arbitrary: people.map((by): Command => ({ type: 'cancel', by })) },
  { weight: 1, arbitrary: people.map((by): Command => ({ type: 'dispute', by, reason: 'r' })) },
  {
    weight: 2,
    arbitrary: fc
      .record({
        by: people,
        outcome: fc.constantFrom('worker' as const, 'poster' as const, 'split' as const),
        share: fc.integer({ min: -1, max: 10_001 }),
      })
      .map(({ by, outcome, share }): Command => ({ type: 'verdict', by, outcome, workerShareBps: share })),
  },
  { weight: 4, arbitrary: fc.constant<Command>({ type: 'tick' }) },
  { weight: 3, arbitrary: fc.constant<Command>({ type: 'hold_settled', paymentHash: PAYMENT_HASH }) },
  { weight: 3, arbitrary: fc.constant<Command>({ type: 'hold_cancelled', paymentHash: PAYMENT_HASH }) },
  {
    weight: 3,
    arbitrary: fc.record({ who: recipient, amount: fc.constantFrom(AMOUNT, 0n, 1n) }).map(
      ({ who }): Command => ({
        type: 'payout_start',
        recipient: who,
        bolt11: '',
        paymentHash: PAYOUT_HASH,
        amountMsat: 0n,
      }),
    ),
  },
  {
    weight: 2,
    arbitrary: recipient.map(
      (who): Command => ({
        type: 'payout_succeeded',
        recipient: who,
        routingFeeMsat: 7n,
        preimage: PAYOUT_PREIMAGE,
      }),
    ),
  },
  {
    weight: 2,
    arbitrary: recipient.map(
      (who): Command => ({ type: 'payout_failed', recipient: who, reason: 'no route' }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record({ by: people, who: recipient }).map(
      ({ by, who }): Command => ({
        type: 'payout_invoice',
        by,
        recipient: who,
        bolt11: who === 'worker' ? WORKER_INVOICE : POSTER_INVOICE,
      }),
    ),
  },
);

// Mostly short pauses, sometimes long ones, so that both actions and timeouts happen.
const pause = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 600 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 8 * 3600 }) },
);
const blocks = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 3 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 60 }) },
);
type Step = { command: Command; seconds: number; blocks: number };
const noise = fc.record({ command, seconds: pause, blocks });

/** The happy path, in order: each of its commands followed by random noise, so that runs go deep. */
const HAPPY_PATH: Command[] = [
  { type: 'post', taskId: TASK_ID, by: POSTER, amountMsat: AMOUNT, title: 't' },
  {
    type: 'offer',
    paymentHash: PAYMENT_HASH,
    bolt11: 'lnbcrt1hold',
    invoiceExpiresAt: T0 + 3600,
    finalCltvDelta: 300,
  },
  {
    type: 'hold_accepted',
    paymentHash: PAYMENT_HASH,
    amountMsat: AMOUNT,
    htlcExpiryHeight: H0 + 303,
    claimDeadlineHeight: H0 + 282,
  },
  { type: 'claim', by: WORKER },
  { type: 'submit', by: WORKER, payoutInvoice: WORKER_INVOICE },
  { type: 'approve', by: POSTER },
  { type: 'hold_settled', paymentHash: PAYMENT_HASH },
  { type: 'payout_start', recipient: 'worker', bolt11: '', paymentHash: PAYOUT_HASH, amountMsat: 0n },
  { type: 'payout_succeeded', recipient: 'worker', routingFeeMsat: 7n, preimage: PAYOUT_PREIMAGE },
];
/** A dispute settled by a split: two payouts, the poster's needing an invoice first. */
const SPLIT_PATH: Command[] = [
  ...HAPPY_PATH.slice(0, 5),
  { type: 'dispute', by: POSTER, reason: 'half done' },
  { type: 'verdict', by: ARBITRATOR, outcome: 'split', workerShareBps: 5000 },
  { type: 'hold_settled', paymentHash: PAYMENT_HASH },
  { type: 'payout_start', recipient: 'worker', bolt11: '', paymentHash: PAYOUT_HASH, amountMsat: 0n },
  { type: 'payout_invoice', by: POSTER, recipient: 'poster', bolt11: POSTER_INVOICE },
  { type: 'payout_start', recipient: 'poster', bolt11: '', paymentHash: PAYOUT_HASH, amountMsat: 0n },
  { type: 'payout_succeeded', recipient: 'worker', routingFeeMsat: 7n, preimage: PAYOUT_PREIMAGE },
  { type: 'payout_start', recipient: 'poster', bolt11: '', paymentHash: PAYOUT_HASH, amountMsat: 0n },
  { type: 'payout_succeeded', recipient: 'poster', routingFeeMsat: 7n, preimage: PAYOUT_PREIMAGE },
];
const scripted = (path: Command[]) =>
  fc
    .array(fc.array(noise, { maxLength: 3 }), { minLength: path.length, maxLength: path.length })
    .map((noiseAfter): Step[] =>
      path.flatMap((next, index) => [
        { command: next, seconds: 30, blocks: 0 },
        ...(noiseAfter[index] ?? []),
      ]),
    );
const run = fc.oneof(
  scripted(HAPPY_PATH),
  scripted(SPLIT_PATH),
  fc.array(noise, { minLength: 1, maxLength: 60 }),
);

/** A payout_start as the agent would send it: for the payout on record (the generator cannot know it). */
function completePayoutStart(task: Task | null, candidate: Command): Command {
  if (candidate.type !== 'payout_start' || task === null) return candidate;
  const payout = task.payouts.find((one) => one.recipient === candidate.recipient);
  return payout ? { ...candidate, bolt11: payout.bolt11 ?? '', amountMsat: payout.amountMsat } : candidate;
}

function checkInvariants(
  before: Task | null,
  after: Task | null,
  events: TaskEvent[],
  log: TaskEvent[],
  policy: Policy,
) {
  if (before && TERMINAL_STATES.has(before.state)) {
    assert.equal(events, [], `no exit from the terminal state ${before.state}`);
  }
  if (!after) return;
  const violation = conservationViolation(after.ledger);
  assert.is(violation, null, violation ?? '');
  assert.ok(
    after.payouts.filter((payout) => payout.state === 'in_flight').length <= 1,
    'at most one payout in flight',
  );
  const recipients = after.payouts.map((payout) => payout.recipient);
  assert.is(new Set(recipients).size, recipients.length, 'at most one payout per recipient');
  const paidOut = after.ledger.paidToWorkerMsat + after.ledger.paidToPosterMsat;
  assert.ok(
    paidOut <= netPayableMsat(after.ledger.receivedMsat, after.feeMsat) || paidOut === 0n,
    'never pay more than amount - fee',
  );
  const settledAt = log.findIndex((event) => event.type === 'hold_settled');
  const firstPayout = log.findIndex((event) => event.type === 'payout_started');
  if (firstPayout >= 0)
    assert.ok(settledAt >= 0 && settledAt < firstPayout, 'a payout starts only after the hold settled');
  if (settledAt >= 0) {
    const intent = log.slice(0, settledAt).findLast((event) => event.type === 'settle_requested');
    assert.ok(intent, 'the hold settles only after our settle intent');
    assert.ok(
      log.slice(0, settledAt).some((event) => event.type === 'funded'),
      'settle only after funded',
    );
    if (intent?.type === 'settle_requested') {
      const allowed =
        (intent.reason === 'approved' && log.some((event) => event.type === 'submitted')) ||
        (intent.reason === 'review_timeout' && log.some((event) => event.type === 'submitted')) ||
        (intent.reason === 'verdict' && log.some((event) => event.type === 'disputed')) ||
        intent.reason === 'hold_deadline';
      assert.ok(allowed, `settled for ${intent.reason} without its cause`);
    }
    assert.is(
      log.filter((event) => event.type === 'hold_cancelled').length,
      0,
      'a hold is never both settled and cancelled',
    );
  }
  if (after.state === 'paid') assert.is(after.ledger.heldMsat, 0n, 'a paid task holds nothing');
  if (after.state === 'refunded')
    assert.is(after.ledger.refundedMsat, after.ledger.receivedMsat, 'a refund returns everything');
  if (after.state === 'cancelled' || after.state === 'expired') assert.is(after.ledger.receivedMsat, 0n);
  assert.ok(policy.maxPayoutAttempts > 0);
}

test('invariants hold after every step of any command sequence', () => {
  fc.assert(
    fc.property(run, fc.constantFrom<'refund' | 'custody'>('refund', 'custody'), (steps, rule) => {
      const policy = testPolicy({ disputeDeadlineRule: rule });
      let task: Task | null = null;
      let now = T0;
      let height = H0;
      const log: TaskEvent[] = [];
      for (const { command: candidate, seconds, blocks } of steps) {
        now += seconds;
        height += blocks;
        const before: Task | null = task;
        const decision = decide(before, completePayoutStart(before, candidate), { now, height, policy });
        const events = decision.ok ? decision.events : [];
        if (!decision.ok) assert.match(decision.rejection.message, /^(invalid|blocked|duplicate): /);
        for (const event of events) {
          task = evolve(task, event);
          log.push(event);
        }
        checkInvariants(before, task, events, log, policy);
        if (task) assert.is(task.version, log.length);
      }
    }),
    { numRuns: 3000 },
  );
});

test('an event log folds to the same task whatever the run (evolve is deterministic)', () => {
  fc.assert(
    fc.property(run, (steps) => {
      const policy = testPolicy();
      let task: Task | null = null;
      const log: TaskEvent[] = [];
      let now = T0;
      for (const { command: candidate, seconds } of steps) {
        now += seconds;
        const decision = decide(task, completePayoutStart(task, candidate), { now, height: H0, policy });
        if (!decision.ok) continue;
        for (const event of decision.events) {
          task = evolve(task, event);
          log.push(event);
        }
      }
      const replayed = log.reduce<Task | null>(evolve, null);
      assert.equal(replayed, task);
    }),
    { numRuns: 500 },
  );
});

test('random lifecycles reach every terminal state', () => {
  const reached = new Set<string>();
  fc.assert(
    fc.property(run, (steps) => {
      let task: Task | null = null;
      let now = T0;
      let height = H0;
      for (const { command: candidate, seconds, blocks } of steps) {
        now += seconds;
        height += blocks;
        const decision = decide(task, completePayoutStart(task, candidate), {
          now,
          height,
          policy: testPolicy(),
        });
        if (decision.ok) task = decision.events.reduce<Task | null>(evolve, task);
      }
      if (task) reached.add(task.state);
    }),
    { numRuns: 4000 },
  );
  for (const state of TERMINAL_STATES)
    assert.ok(reached.has(state), `no run reached ${state}: the generator is too weak`);
});

test.run();
