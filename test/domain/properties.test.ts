// Model-based property tests: random command sequences from posters, workers, arbitrators, strangers, the
// node and the clock; the invariants of the escrow are checked after every step.
//
// Each run posts its task under one arbitration (1 of 1, 2 of 3, all-any-one, 3 of 3, a named pair, none) and
// one deadline rule. The PRNG is seeded: a failure prints its seed and path; PROPERTY_SEED=<seed> replays the file.
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { guardianHeight } from '../../src/domain/deadlines.ts';
import { decide } from '../../src/domain/decide.ts';
import { evolve } from '../../src/domain/evolve.ts';
import { conservationViolation, netPayableMsat } from '../../src/domain/money.ts';
import type { Command, Hex32, Policy, Resolution, Task, TaskEvent } from '../../src/domain/types.ts';
import { HOLDING_STATES, TERMINAL_STATES } from '../../src/domain/types.ts';
import {
  AMOUNT,
  ARBITRATOR,
  ARBITRATOR_2,
  ARBITRATOR_3,
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
  threeArbitratorPolicy,
  WORKER,
  WORKER_INVOICE,
} from '../fakes/domain.ts';

const SEED = process.env.PROPERTY_SEED ? Number(process.env.PROPERTY_SEED) : Date.now() % 2 ** 31;

/** fc.assert with the file's seed; a failure names it so that the run can be replayed. */
function check(property: Parameters<typeof fc.assert>[0], numRuns: number) {
  try {
    fc.assert(property, { seed: SEED, numRuns, includeErrorInReport: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\n(replay the whole file with PROPERTY_SEED=${SEED})`);
  }
}

const A1 = ARBITRATOR;
const A2 = ARBITRATOR_2;
const A3 = ARBITRATOR_3;
const MAX_STATEMENT = testPolicy().maxStatementLength;
const ADDRESSES = ['worker@wallet.example', 'poster@wallet.example'] as const;

/** Who decides disputes for the run's task: what its listing names, and the agent's active arbitrators. */
interface Setup {
  label: string;
  arbitrators?: Hex32[];
  threshold?: number;
  /** The agent has no arbitrators at all: the task takes no disputes. */
  none?: boolean;
}
const SETUPS: Setup[] = [
  { label: '1 of 1', arbitrators: [A1], threshold: 1 },
  { label: '2 of 3', arbitrators: [A1, A2, A3], threshold: 2 },
  { label: 'default: every active arbitrator, any one' },
  { label: '3 of 3', threshold: 3 },
  { label: '2 of 2 (the second and third)', arbitrators: [A2, A3], threshold: 2 },
  { label: 'no arbitrators', none: true },
];
const setup = fc.constantFrom(...SETUPS);
const rule = fc.constantFrom<'refund' | 'custody'>('refund', 'custody');

function policyFor(one: Setup, deadlineRule: 'refund' | 'custody'): Policy {
  return one.none
    ? testPolicy({ arbitrators: [], disputeDeadlineRule: deadlineRule })
    : threeArbitratorPolicy({ disputeDeadlineRule: deadlineRule });
}

const people = fc.constantFrom(POSTER, WORKER, OTHER_WORKER, A1, A2, A3, STRANGER);
const parties = fc.constantFrom(POSTER, WORKER, WORKER, POSTER, STRANGER, A1);
const judges = fc.constantFrom(A1, A2, A3, A1, A2, A3, STRANGER, POSTER);
const recipient = fc.constantFrom('worker' as const, 'poster' as const);
/** Statements mostly short, often right at the limit, sometimes one over it. */
const statementLength = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 20 }) },
  { weight: 2, arbitrary: fc.integer({ min: MAX_STATEMENT - 2, max: MAX_STATEMENT + 2 }) },
);
/** Shares that often agree (a few values), and some that are invalid. */
const share = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom<number | undefined>(0, 5000, 6000, 10_000) },
  { weight: 1, arbitrary: fc.constantFrom<number | undefined>(-1, 10_001, 1.5, undefined) },
);

/** The task's post: the setup fills in what the listing names (see completeCommand). */
const POST: Command = { type: 'post', taskId: TASK_ID, by: POSTER, amountMsat: AMOUNT, title: 't' };
const TICK: Command = { type: 'tick' };

/** Commands with the right payment hash most of the time, so that runs get deep into the life of a task. */
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Command>(POST) },
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
  {
    weight: 3,
    arbitrary: fc
      .record({ by: parties, length: statementLength })
      .map(({ by, length }): Command => ({ type: 'dispute', by, reason: 's'.repeat(length) })),
  },
  {
    weight: 4,
    arbitrary: fc
      .record({
        by: judges,
        outcome: fc.constantFrom('worker' as const, 'poster' as const, 'split' as const),
        share,
        eventId: fc.constantFrom<Hex32 | undefined>(undefined, 'f'.repeat(64)),
      })
      .map(
        ({ by, outcome, share: bps, eventId }): Command => ({
          type: 'verdict',
          by,
          outcome,
          ...(bps === undefined ? {} : { workerShareBps: bps }),
          ...(eventId === undefined ? {} : { eventId }),
        }),
      ),
  },
  { weight: 4, arbitrary: fc.constant<Command>(TICK) },
  { weight: 3, arbitrary: fc.constant<Command>({ type: 'hold_settled', paymentHash: PAYMENT_HASH }) },
  { weight: 2, arbitrary: fc.constant<Command>({ type: 'hold_cancelled', paymentHash: PAYMENT_HASH }) },
  {
    weight: 3,
    arbitrary: recipient.map(
      (who): Command => ({
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
    weight: 3,
    arbitrary: fc.record({ who: recipient, unusable: fc.boolean() }).map(
      ({ who, unusable }): Command => ({
        type: 'payout_failed',
        recipient: who,
        reason: 'no route',
        invoiceUnusable: unusable,
      }),
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
  {
    weight: 2,
    arbitrary: fc
      .record({ by: people, who: recipient, address: fc.constantFrom(...ADDRESSES) })
      .map(({ by, who, address }): Command => ({ type: 'payout_address', by, recipient: who, address })),
  },
  {
    weight: 3,
    arbitrary: fc.record({ who: recipient, n: fc.integer({ min: 1, max: 9 }) }).map(
      ({ who, n }): Command => ({
        type: 'payout_address_invoice',
        recipient: who,
        bolt11: `lnbcrt1fetched${n}`,
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({ who: recipient, giveUp: fc.boolean() }).map(
      ({ who, giveUp }): Command => ({
        type: 'payout_address_failed',
        recipient: who,
        reason: 'timeout',
        giveUp,
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
const noise = fc.oneof(
  { weight: 12, arbitrary: fc.record({ command, seconds: pause, blocks }) },
  // The clock and the chain jump (often past the guardian height, H0 + 266 for these tasks) and a tick follows.
  {
    weight: 1,
    arbitrary: fc.record({
      command: fc.constant(TICK),
      seconds: fc.integer({ min: 0, max: 2 * 86_400 }),
      blocks: fc.integer({ min: 20, max: 300 }),
    }),
  },
);

const step = (next: Command, seconds = 30, blocksAfter = 0): Step => ({
  command: next,
  seconds,
  blocks: blocksAfter,
});
const start = (who: 'worker' | 'poster'): Command => ({
  type: 'payout_start',
  recipient: who,
  bolt11: '',
  paymentHash: PAYOUT_HASH,
  amountMsat: 0n,
});
const succeed = (who: 'worker' | 'poster'): Command => ({
  type: 'payout_succeeded',
  recipient: who,
  routingFeeMsat: 7n,
  preimage: PAYOUT_PREIMAGE,
});
const settledByNode: Command = { type: 'hold_settled', paymentHash: PAYMENT_HASH };

/** The happy path, in order: each of its steps followed by random noise, so that runs go deep. */
const HAPPY_PATH: Step[] = [
  step(POST),
  step({
    type: 'offer',
    paymentHash: PAYMENT_HASH,
    bolt11: 'lnbcrt1hold',
    invoiceExpiresAt: T0 + 3600,
    finalCltvDelta: 300,
  }),
  step({
    type: 'hold_accepted',
    paymentHash: PAYMENT_HASH,
    amountMsat: AMOUNT,
    htlcExpiryHeight: H0 + 303,
    claimDeadlineHeight: H0 + 282,
  }),
  step({ type: 'claim', by: WORKER }),
  step({ type: 'submit', by: WORKER, payoutInvoice: WORKER_INVOICE }),
  step({ type: 'approve', by: POSTER }),
  step(settledByNode),
  step(start('worker')),
  step(succeed('worker')),
];
/** A dispute settled by a split (two verdicts: one acts under 1 of k, both under 2 of n). */
const SPLIT_PATH: Step[] = [
  ...HAPPY_PATH.slice(0, 5),
  step({ type: 'dispute', by: POSTER, reason: 'half done' }),
  step({ type: 'dispute', by: WORKER, reason: 'all done' }),
  step({ type: 'verdict', by: A2, outcome: 'split', workerShareBps: 5000 }),
  step({ type: 'verdict', by: A1, outcome: 'split', workerShareBps: 5000 }),
  step(settledByNode),
  step(start('worker')),
  step({ type: 'payout_invoice', by: POSTER, recipient: 'poster', bolt11: POSTER_INVOICE }),
  step(start('poster')),
  step(succeed('worker')),
  step(start('poster')),
  step(succeed('poster')),
];
/** A dispute that outlives the hold: the guardian acts, then the verdicts come (a dissent among them). */
const CUSTODY_PATH: Step[] = [
  ...HAPPY_PATH.slice(0, 4),
  step({ type: 'dispute', by: WORKER, reason: 'moved goalposts' }),
  step({ type: 'verdict', by: A3, outcome: 'worker' }),
  step(TICK, 600, 270),
  step(TICK),
  step(settledByNode),
  step({ type: 'verdict', by: A1, outcome: 'poster' }),
  step({ type: 'verdict', by: A2, outcome: 'worker' }),
  step({ type: 'verdict', by: A1, outcome: 'worker' }),
  step({ type: 'payout_address', by: WORKER, recipient: 'worker', address: ADDRESSES[0] }),
  step({ type: 'payout_address_invoice', recipient: 'worker', bolt11: 'lnbcrt1fetched1' }),
  step({ type: 'payout_invoice', by: POSTER, recipient: 'poster', bolt11: POSTER_INVOICE }),
  step(start('worker')),
  step(succeed('worker')),
  step(start('poster')),
  step(succeed('poster')),
];
/** Payouts through a Lightning address whose invoices keep failing: the address must be forgotten. */
const ADDRESS_PATH: Step[] = [
  ...HAPPY_PATH.slice(0, 4),
  step({ type: 'submit', by: WORKER, payoutInvoice: null }),
  step({ type: 'approve', by: POSTER }),
  step(settledByNode),
  step({ type: 'payout_address', by: WORKER, recipient: 'worker', address: ADDRESSES[0] }),
  ...[1, 2, 3, 4].flatMap((n) => [
    step({ type: 'payout_address_invoice', recipient: 'worker', bolt11: `lnbcrt1fetched${n}` }),
    step(start('worker')),
    step({ type: 'payout_failed', recipient: 'worker', reason: 'expired', invoiceUnusable: true }),
  ]),
  step({ type: 'payout_address', by: WORKER, recipient: 'worker', address: ADDRESSES[0] }),
  step({ type: 'payout_address_invoice', recipient: 'worker', bolt11: 'lnbcrt1fetched5' }),
  step(start('worker')),
  step(succeed('worker')),
];

const scripted = (path: Step[]) =>
  fc
    .array(fc.array(noise, { maxLength: 3 }), { minLength: path.length, maxLength: path.length })
    .map((noiseAfter): Step[] => path.flatMap((next, index) => [next, ...(noiseAfter[index] ?? [])]));
const run = fc.oneof(
  scripted(HAPPY_PATH),
  scripted(SPLIT_PATH),
  scripted(CUSTODY_PATH),
  scripted(ADDRESS_PATH),
  fc.array(noise, { minLength: 1, maxLength: 60 }),
);

/**
 * The command as the agent would send it: the post with the run's arbitration, a payout_start for the payout on
 * record (the generator cannot know its invoice and amount).
 */
function completeCommand(task: Task | null, candidate: Command, one: Setup): Command {
  if (candidate.type === 'post') {
    return {
      ...candidate,
      ...(one.arbitrators ? { arbitrators: one.arbitrators } : {}),
      ...(one.threshold !== undefined ? { threshold: one.threshold } : {}),
    };
  }
  if (candidate.type !== 'payout_start' || task === null) return candidate;
  const payout = task.payouts.find((candidatePayout) => candidatePayout.recipient === candidate.recipient);
  return payout ? { ...candidate, bolt11: payout.bolt11 ?? '', amountMsat: payout.amountMsat } : candidate;
}

/** The model's own notion of agreement (not the decider's): the same way, and a split with the same share. */
function agree(a: Resolution, b: Resolution): boolean {
  if (a.kind === 'split' || b.kind === 'split') {
    return a.kind === 'split' && b.kind === 'split' && a.workerShareBps === b.workerShareBps;
  }
  return a.kind === b.kind;
}
const agreeing = (task: Task, resolution: Resolution) =>
  task.verdicts.filter((verdict) => agree(verdict.resolution, resolution)).length;

/**
 * Failed attempts per recipient since the budget last started afresh (an address or an invoice given by the
 * recipient). Invoices fetched from an address share that budget: more failures than max_payout_attempts
 * would be an endless fetch-and-fail loop.
 */
function failuresSinceFreshBudget(log: TaskEvent[], who: 'worker' | 'poster'): number {
  let failures = 0;
  for (const event of log) {
    if (!('recipient' in event) || event.recipient !== who) continue;
    if (
      event.type === 'payout_address_given' ||
      (event.type === 'payout_invoice_given' && !event.fromAddress)
    )
      failures = 0;
    if (event.type === 'payout_failed') failures++;
  }
  return failures;
}

interface Observed {
  before: Task | null;
  after: Task | null;
  command: Command;
  events: TaskEvent[];
  log: TaskEvent[];
  height: number;
  policy: Policy;
}

function checkInvariants({ before, after, command: sent, events, log, height, policy }: Observed) {
  if (before && TERMINAL_STATES.has(before.state)) {
    assert.equal(events, [], `no exit from the terminal state ${before.state}`);
  }
  if (!after) return;
  const { ledger } = after;

  // Conservation: received = paid worker + paid poster + refunded + fee + held (custody included).
  const violation = conservationViolation(ledger);
  assert.is(violation, null, violation ?? '');
  if (after.state === 'custody') assert.ok(ledger.heldMsat > 0n, 'custody holds money');

  // Payouts: one in flight at most, one per recipient, each succeeded once at most, never more than received.
  assert.ok(
    after.payouts.filter((payout) => payout.state === 'in_flight').length <= 1,
    'at most one payout in flight',
  );
  const recipients = after.payouts.map((payout) => payout.recipient);
  assert.is(new Set(recipients).size, recipients.length, 'at most one payout per recipient');
  for (const who of ['worker', 'poster'] as const) {
    const successes = log.filter((event) => event.type === 'payout_succeeded' && event.recipient === who);
    assert.ok(successes.length <= 1, `the ${who} was paid ${successes.length} times`);
    const paid = after.payouts
      .filter((payout) => payout.recipient === who && payout.state === 'succeeded')
      .reduce((sum, payout) => sum + payout.amountMsat, 0n);
    assert.is(
      paid,
      who === 'worker' ? ledger.paidToWorkerMsat : ledger.paidToPosterMsat,
      `paid to the ${who}`,
    );
  }
  const succeeded = after.payouts
    .filter((payout) => payout.state === 'succeeded')
    .reduce((sum, payout) => sum + payout.amountMsat, 0n);
  assert.ok(succeeded + ledger.feeMsat <= ledger.receivedMsat, 'succeeded payouts + fee <= received');
  const paidOut = ledger.paidToWorkerMsat + ledger.paidToPosterMsat;
  assert.ok(
    paidOut <= netPayableMsat(ledger.receivedMsat, after.feeMsat) || paidOut === 0n,
    'never pay more than amount - fee',
  );
  // No endless fetch-and-fail loop: the attempts budget is never exceeded, and a spent one is never due again.
  for (const payout of after.payouts) {
    assert.ok(payout.attempts <= policy.maxPayoutAttempts, `${payout.attempts} attempts`);
    if (payout.state === 'due')
      assert.ok(payout.attempts < policy.maxPayoutAttempts, 'a spent budget is due');
  }
  for (const who of ['worker', 'poster'] as const) {
    const failures = failuresSinceFreshBudget(log, who);
    assert.ok(
      failures <= policy.maxPayoutAttempts,
      `${failures} failed ${who} payouts on one budget of ${policy.maxPayoutAttempts} attempts`,
    );
  }
  for (const event of events) {
    if (event.type === 'payout_failed' && event.forgetAddress) {
      const payout = after.payouts.find((one) => one.recipient === event.recipient);
      assert.ok(!payout?.address, 'a forgotten address is gone');
      assert.is(payout?.state, 'needs_invoice');
    }
  }

  // The hold deadline: a tick at or past the guardian height always moves a task out of the hold.
  if (sent.type === 'tick' && HOLDING_STATES.has(after.state) && after.funding) {
    const guardian = guardianHeight(after.funding, policy.safetyMarginBlocks);
    assert.ok(
      guardian === null || height < guardian,
      `${after.state} at height ${height}, at or past the guardian height ${guardian}, after a tick`,
    );
  }

  // Arbitration: committed at posting, from the active set, k of n.
  const { arbitrators, threshold } = after.arbitration;
  assert.ok(
    arbitrators.every((pubkey) => policy.arbitrators.includes(pubkey)),
    'named arbitrators are active ones',
  );
  assert.ok(
    arbitrators.length === 0 ? threshold === 0 : threshold >= 1 && threshold <= arbitrators.length,
    `threshold ${threshold} of ${arbitrators.length}`,
  );
  if (before) assert.equal(after.arbitration, before.arbitration, 'the arbitration never changes');

  // Verdicts: one per arbitrator at most, only from the named ones; k agreeing act, fewer do not.
  const judgesOnRecord = after.verdicts.map((verdict) => verdict.by);
  assert.is(new Set(judgesOnRecord).size, judgesOnRecord.length, 'one verdict per arbitrator');
  assert.ok(
    judgesOnRecord.every((pubkey) => arbitrators.includes(pubkey)),
    'verdicts only from named arbitrators',
  );
  if (after.verdicts.length > 0) assert.ok(after.disputedAt !== null, 'verdicts only on a disputed task');
  const pending =
    after.state === 'disputed' || (after.state === 'custody' && after.resolution?.kind === 'pending_verdict');
  if (pending) {
    for (const verdict of after.verdicts) {
      assert.ok(agreeing(after, verdict.resolution) < threshold, 'k agreeing verdicts left the dispute open');
    }
  }
  if (after.reason === 'verdict') {
    const resolution: Resolution =
      after.state === 'refunding' || after.state === 'refunded'
        ? { kind: 'poster' }
        : (after.resolution as Resolution);
    if (after.reason === 'verdict' && after.resolution?.kind !== 'pending_verdict') {
      assert.ok(
        agreeing(after, resolution) >= threshold,
        `resolved for the ${resolution.kind} with ${agreeing(after, resolution)} of ${threshold} agreeing verdicts`,
      );
    }
  }
  for (const event of log) {
    if (event.type === 'verdict_given') {
      assert.ok(agreeing(after, event.resolution) >= threshold, 'verdict_given without k agreeing verdicts');
    }
  }
  if (after.resolution && after.resolution.kind !== 'pending_verdict' && after.reason === 'hold_deadline') {
    // Out of custody by a verdict, or the guardian paying a submitted task's worker.
    const fromCustody = log.some((event) => event.type === 'verdict_given');
    assert.ok(
      fromCustody || after.resolution.kind === 'worker',
      'a resolution from custody came from verdicts',
    );
  }

  // Statements: one per party, from the parties only, within the limit.
  const speakers = after.statements.map((statement) => statement.by);
  assert.is(new Set(speakers).size, speakers.length, 'one statement per party');
  for (const statement of after.statements) {
    assert.ok(
      statement.by === after.poster || statement.by === after.worker,
      'statements only from the parties',
    );
    assert.ok(statement.text.length <= policy.maxStatementLength, 'statements within the limit');
  }

  // Refunded and settled never both.
  const settledAt = log.findIndex((event) => event.type === 'hold_settled');
  const cancelledAt = log.findIndex((event) => event.type === 'hold_cancelled');
  assert.ok(settledAt < 0 || cancelledAt < 0, 'a hold is never both settled and cancelled');
  if (ledger.refundedMsat > 0n) {
    assert.is(ledger.feeMsat, 0n, 'a refunded task earns no fee');
    assert.is(paidOut, 0n, 'a refunded task pays nobody');
  }

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
  }
  if (after.state === 'paid') assert.is(ledger.heldMsat, 0n, 'a paid task holds nothing');
  if (after.state === 'refunded')
    assert.is(ledger.refundedMsat, ledger.receivedMsat, 'a refund returns everything');
  if (after.state === 'cancelled' || after.state === 'expired') assert.is(ledger.receivedMsat, 0n);
}

/** Plays a run from nothing; calls `each` after every step. */
function play(
  steps: Step[],
  one: Setup,
  policy: Policy,
  each?: (observed: Observed) => void,
): { task: Task | null; log: TaskEvent[] } {
  let task: Task | null = null;
  let now = T0;
  let height = H0;
  const log: TaskEvent[] = [];
  for (const { command: candidate, seconds, blocks: mined } of steps) {
    now += seconds;
    height += mined;
    const before: Task | null = task;
    const sent = completeCommand(before, candidate, one);
    const decision = decide(before, sent, { now, height, policy });
    const events = decision.ok ? decision.events : [];
    if (!decision.ok) assert.match(decision.rejection.message, /^(invalid|blocked|duplicate): /);
    for (const event of events) {
      task = evolve(task, event);
      log.push(event);
    }
    each?.({ before, after: task, command: sent, events, log, height, policy });
  }
  return { task, log };
}

test('invariants hold after every step of any command sequence', () => {
  check(
    fc.property(run, setup, rule, (steps, one, deadlineRule) => {
      play(steps, one, policyFor(one, deadlineRule), (observed) => {
        checkInvariants(observed);
        if (observed.after) assert.is(observed.after.version, observed.log.length);
      });
    }),
    3000,
  );
});

test('an event log folds to the same task whatever the run (evolve is deterministic)', () => {
  check(
    fc.property(run, setup, rule, (steps, one, deadlineRule) => {
      const { task, log } = play(steps, one, policyFor(one, deadlineRule));
      const replayed = log.reduce<Task | null>(evolve, null);
      assert.equal(replayed, task);
    }),
    500,
  );
});

test('random lifecycles reach every terminal state, and every step of a dispute', () => {
  const reached = new Set<string>();
  check(
    fc.property(run, setup, rule, (steps, one, deadlineRule) => {
      const { task, log } = play(steps, one, policyFor(one, deadlineRule), ({ after, events }) => {
        if (after) reached.add(after.state);
        for (const event of events) {
          reached.add(event.type);
          if (event.type === 'payout_failed' && event.forgetAddress) reached.add('forgetAddress');
          if (event.type === 'payout_invoice_given' && event.fromAddress) reached.add('fromAddress');
          if (event.type === 'settle_requested') reached.add(`settle:${event.resolution.kind}`);
        }
        if (after?.state === 'disputed' && after.verdicts.length > 1) reached.add('dissent');
        if (after?.state === 'custody' && after.resolution?.kind === 'pending_verdict')
          reached.add('pending');
      });
      if (task) reached.add(`end:${task.state}`);
      return log.length >= 0;
    }),
    4000,
  );
  for (const state of TERMINAL_STATES)
    assert.ok(reached.has(`end:${state}`), `no run reached ${state}: the generator is too weak`);
  for (const mark of [
    'custody',
    'payout_pending',
    'pending',
    'dissent',
    'statement_added',
    'verdict_recorded',
    'verdict_given',
    'settle:split',
    'settle:pending_verdict',
    'payout_address_given',
    'payout_address_failed',
    'fromAddress',
    'forgetAddress',
  ]) {
    assert.ok(reached.has(mark), `no run reached ${mark}: the generator is too weak`);
  }
});

test.run();
