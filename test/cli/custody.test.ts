// The custody report's core (src/cli/commands/custody.ts) on tasks folded from domain events: what each task that
// holds money for others owes to whom and since when, and the totals' conservation over every task.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { custodyJson, custodyReport, custodyText } from '../../src/cli/commands/custody.ts';
import { fold } from '../../src/domain/evolve.ts';
import { splitShares } from '../../src/domain/money.ts';
import type { Task, TaskEvent } from '../../src/domain/types.ts';
import {
  AMOUNT,
  ARBITRATOR,
  FEE,
  HISTORY,
  POSTER,
  POSTER_INVOICE,
  T0,
  WORKER,
  WORKER_INVOICE,
} from '../fakes/domain.ts';

const SPLIT_ID = '7'.repeat(64);
const PAID_ID = '8'.repeat(64);
const REFUNDED_ID = '9'.repeat(64);
const IN_FLIGHT_ID = 'f'.repeat(64);
const CUSTODY_MAX = 7 * 86_400;
const SETTLED_AT = T0 + 801;
const NET = AMOUNT - FEE; // 20,789,000 msat
const SHARES = splitShares(NET, 6000); // worker 12,473,400, poster 8,315,600

/** The history as the task `id` (HISTORY's tasks all share one id). */
function as(id: string, events: TaskEvent[]): TaskEvent[] {
  return events.map((event) => (event.type === 'task_posted' ? { ...event, taskId: id } : event));
}

function task(events: TaskEvent[]): Task {
  const folded = fold(events);
  if (!folded) throw new Error('an empty history');
  return folded;
}

/** A dispute split 60 / 40 after the hold settled: the worker is paid, the poster has given no invoice yet. */
function splitWithPosterPending(): TaskEvent[] {
  return as(SPLIT_ID, [
    ...HISTORY.disputed(),
    {
      type: 'verdict_recorded',
      at: T0 + 800,
      by: ARBITRATOR,
      resolution: { kind: 'split', workerShareBps: 6000 },
      eventId: null,
    },
    {
      type: 'settle_requested',
      at: T0 + 800,
      reason: 'verdict',
      resolution: { kind: 'split', workerShareBps: 6000 },
    },
    { type: 'hold_settled', at: SETTLED_AT },
    // Both sides are asked for an invoice for their share; the worker gives one.
    { type: 'payout_invoice_given', at: T0 + 801, recipient: 'worker', bolt11: WORKER_INVOICE },
    {
      type: 'payout_started',
      at: T0 + 802,
      recipient: 'worker',
      bolt11: WORKER_INVOICE,
      paymentHash: '3'.repeat(64),
      amountMsat: SHARES.worker,
    },
    {
      type: 'payout_succeeded',
      at: T0 + 803,
      recipient: 'worker',
      routingFeeMsat: 3n,
      preimage: '4'.repeat(64),
    },
  ]);
}

function threeTasks(): Task[] {
  return [
    task(splitWithPosterPending()),
    task(as(PAID_ID, HISTORY.paid())),
    task(as(REFUNDED_ID, HISTORY.refunded())),
  ];
}

test('a split in custody with the poster pending, one paid, one refunded: one line, and totals that hold', () => {
  const tasks = threeTasks();
  assert.is(tasks[0]?.state, 'payout_pending', 'the fixture: the poster has no invoice yet');
  const report = custodyReport(tasks, { now: SETTLED_AT + 3600, custodyMaxSeconds: CUSTODY_MAX });
  assert.equal(report.lines, [
    {
      taskId: SPLIT_ID,
      state: 'payout_pending',
      resolution: { kind: 'split', workerShareBps: 6000 },
      heldMsat: SHARES.poster,
      owed: [{ recipient: 'poster', pubkey: POSTER, amountMsat: SHARES.poster, state: 'needs_invoice' }],
      custodySince: SETTLED_AT,
      custodySeconds: 3600,
      overdue: false,
    },
  ]);
  assert.is(report.heldForOthersMsat, 8_315_600n);
  assert.is(report.overdueCount, 0);
  assert.equal(report.totals, {
    tasks: 3,
    receivedMsat: 3n * AMOUNT,
    heldMsat: SHARES.poster,
    paidToWorkerMsat: SHARES.worker + NET,
    paidToPosterMsat: 0n,
    refundedMsat: AMOUNT,
    feeMsat: 2n * FEE,
    routingFeeMsat: 3n + 5n,
  });
  assert.is(report.totals.receivedMsat, 63_000_000n);
  assert.is(report.totals.paidToWorkerMsat, 33_262_400n);
  assert.equal(report.violations, []);
  assert.ok(report.conserved);

  const text = custodyText(report).join('\n');
  assert.match(text, 'money held for others: 8315600 msat in 1 task(s)');
  assert.match(text, `task ${SPLIT_ID}`);
  assert.match(
    text,
    'state payout_pending, split: 60 % to the worker, the rest to the poster, held 8315600 msat',
  );
  assert.match(text, 'in custody since 2027-01-15T08:13:21Z (1 h): within the 7 d limit');
  assert.match(text, /owed to the poster npub1\w+: 8315600 msat, waiting for an invoice from them/);
  assert.match(
    text,
    'totals over 3 task(s): received 63000000 msat = paid to workers 33262400 + paid to posters 0 + refunded 21000000 + fee 422000 + held 8315600 msat',
  );
  assert.match(text, 'conservation holds');
  assert.not.match(text, PAID_ID, 'a paid task holds nothing');
  assert.not.match(text, REFUNDED_ID, 'a refunded task holds nothing');
});

test('money held past policy.custody_max_seconds is flagged, and a worker payout in flight is held but not custody', () => {
  const inFlight = task(as(IN_FLIGHT_ID, HISTORY.inFlight()));
  const report = custodyReport([...threeTasks(), inFlight], {
    now: SETTLED_AT + CUSTODY_MAX + 1,
    custodyMaxSeconds: CUSTODY_MAX,
  });
  assert.equal(
    report.lines.map((line) => [line.taskId, line.overdue, line.custodySince]),
    [
      [SPLIT_ID, true, SETTLED_AT],
      [IN_FLIGHT_ID, false, null],
    ],
    'oldest custody first; a plain worker payout last',
  );
  assert.equal(report.lines[1]?.owed, [
    { recipient: 'worker', pubkey: WORKER, amountMsat: NET, state: 'in_flight' },
  ]);
  assert.is(report.heldForOthersMsat, SHARES.poster + NET);
  assert.is(report.overdueCount, 1);
  assert.ok(report.conserved);
  const text = custodyText(report).join('\n');
  assert.match(text, '1 past the custody limit');
  assert.match(text, '(7 d): PAST the 7 d limit');
  assert.match(text, 'not in custody: settled for the worker, whose payout is below');
  assert.match(text, 'being paid');
});

test('a poster payout that was given an invoice is due; a custody awaiting a verdict owes nobody yet', () => {
  const withInvoice = task([
    ...splitWithPosterPending(),
    { type: 'payout_invoice_given', at: T0 + 900, recipient: 'poster', bolt11: POSTER_INVOICE },
  ]);
  assert.is(withInvoice.state, 'custody');
  const awaiting = task(
    as(PAID_ID, [
      ...HISTORY.disputed(),
      {
        type: 'settle_requested',
        at: T0 + 800,
        reason: 'hold_deadline',
        resolution: { kind: 'pending_verdict' },
      },
      { type: 'hold_settled', at: T0 + 801 },
    ]),
  );
  assert.is(awaiting.state, 'custody');
  const report = custodyReport([withInvoice, awaiting], { now: T0 + 1000, custodyMaxSeconds: CUSTODY_MAX });
  assert.equal(report.lines[0]?.owed, [
    { recipient: 'poster', pubkey: POSTER, amountMsat: SHARES.poster, state: 'due' },
  ]);
  assert.equal(report.lines[1]?.owed, []);
  assert.is(report.lines[1]?.heldMsat, NET);
  const text = custodyText(report).join('\n');
  assert.match(text, 'due (the agent has the invoice and pays it)');
  assert.match(text, "owed: nobody yet (awaiting the arbitrators' verdict)");
  assert.match(text, 'awaiting a verdict');
});

test('a ledger that does not add up is named, task by task, and the report is not conserved', () => {
  const [split, paid, refunded] = threeTasks() as [Task, Task, Task];
  const tampered = {
    ...paid,
    ledger: { ...paid.ledger, paidToWorkerMsat: paid.ledger.paidToWorkerMsat + 1n },
  };
  const report = custodyReport([split, tampered, refunded], { now: T0, custodyMaxSeconds: CUSTODY_MAX });
  assert.not.ok(report.conserved);
  assert.is(report.violations.length, 1);
  assert.is(report.violations[0]?.taskId, PAID_ID);
  assert.match(report.violations[0]?.problem ?? '', 'received 21000000 msat but accounted 21000001 msat');
  const text = custodyText(report).join('\n');
  assert.match(text, 'CONSERVATION VIOLATED: 63000000 msat received, 63000001 msat accounted for');
  assert.match(text, `task ${PAID_ID}: received`);
  // Offsetting errors in two tasks leave the sum right; the task check still catches them.
  const offset = {
    ...refunded,
    ledger: { ...refunded.ledger, refundedMsat: refunded.ledger.refundedMsat - 1n },
  };
  const hidden = custodyReport([split, tampered, offset], { now: T0, custodyMaxSeconds: CUSTODY_MAX });
  assert.not.ok(hidden.conserved);
  assert.is(hidden.violations.length, 2);
});

test('no tasks: nothing held, zero totals, conservation holds; the JSON has msat as strings', () => {
  const report = custodyReport([], { now: T0, custodyMaxSeconds: CUSTODY_MAX });
  assert.ok(report.conserved);
  assert.equal(report.lines, []);
  assert.match(custodyText(report).join('\n'), 'no money held for others');
  const json = JSON.parse(custodyJson(custodyReport(threeTasks(), { now: T0 + 900, custodyMaxSeconds: 60 })));
  assert.is(json.totals.receivedMsat, '63000000');
  assert.is(json.lines[0].heldMsat, '8315600');
  assert.is(json.lines[0].owed[0].amountMsat, '8315600');
  assert.is(json.lines[0].overdue, true);
  assert.is(json.conserved, true);
});

test.run();
